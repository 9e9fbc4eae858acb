import Foundation

/// `--at`: the time certificates are judged at instead of now — "what breaks
/// when the intermediate expires?". A date (`2027-01-15`, midnight UTC), a
/// time (`2027-01-15T09:30:00Z`, ISO 8601), or an offset from now (`+30d`,
/// `+12h`, `-2d`).
public enum JudgeTime {
    public static func parse(_ text: String, now: Date = Date()) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.utf8.count <= 40 else { return nil }
        if t.first == "+" || t.first == "-" { return offset(t).map { now.addingTimeInterval($0) } }
        if let date = ISO8601.parse(t) {
            // Foundation moves February 30th into March: the date part must be a day of its month.
            guard let day = t.split(separator: "T").first, parse(String(day), now: now) != nil else { return nil }
            return date
        }
        let day = t.split(separator: "-", omittingEmptySubsequences: false)
        if day.count == 3, let y = Int(day[0]), let m = Int(day[1]), let d = Int(day[2]), (1...9999).contains(y), (1...12).contains(m), (1...31).contains(d) {
            var c = DateComponents()
            (c.year, c.month, c.day) = (y, m, d)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            // February 30th is no date (the calendar would make it March 2nd).
            guard let date = calendar.date(from: c), calendar.dateComponents([.year, .month, .day], from: date) == c else { return nil }
            return date
        }
        return nil
    }

    /// For an offset (`+14d`, `-12h`), how far from now it is, in seconds; nil for a date or a time.
    /// An exporter module's `at: +14d` is 14 days from each scrape, not from the exporter's start.
    public static func offset(_ text: String) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let sign = t.first, sign == "+" || sign == "-", t.utf8.count <= 40 else { return nil }
        // A whole number of weeks, days or hours, at most 100 years.
        let body = t.dropFirst()
        guard let unit = body.last, let n = Int(body.dropLast()), n >= 0, n <= 36_500 * 24 else { return nil }
        let hours: Int
        switch unit {
        case "w": hours = n * 7 * 24
        case "d": hours = n * 24
        case "h": hours = n
        default: return nil
        }
        guard hours <= 36_500 * 24 else { return nil }
        return Double(sign == "+" ? hours : -hours) * 3600
    }

    /// The error a user sees for a value that is none of these.
    public static func problem(_ text: String) -> String {
        "--at '\(Sink.echo(text, limit: 60))' is not a date (2027-01-15), a time (2027-01-15T09:30:00Z) or an offset from now (+30d, -12h)"
    }
}
