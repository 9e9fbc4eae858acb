import Foundation

/// Number and date formatting without `String(format:)`, `Calendar` or
/// `DateFormatter`: those pull in ICU, which costs a run several
/// milliseconds and megabytes for text that is always ASCII and UTC.
public enum TextFormat {
    /// `x` with `places` decimals: `fixed(2.345, 1)` → `2.3`.
    public static func fixed(_ x: Double, _ places: Int) -> String {
        let scale = (0..<places).reduce(1.0) { p, _ in p * 10 }
        let scaled = (abs(x) * scale).rounded()
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled) - whole * Int64(scale)
        let sign = x < 0 && scaled != 0 ? "-" : ""
        return places == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(padded(Int(fraction), places))"
    }

    /// `n` left-padded with zeros to `width` digits.
    public static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `s` right-aligned in `width` columns.
    public static func rightAligned(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    public static func hex(_ byte: UInt8) -> String { hexPairs[Int(byte)] }

    /// `00` … `FF`, made once.
    static let hexPairs: [String] = (0...255).map { b in
        let digits: [Character] = Array("0123456789ABCDEF")
        return String([digits[b >> 4], digits[b & 0xF]])
    }

    /// Year, month, day, hour, minute, second of a date in UTC
    /// (days-from-civil inverse, H. Hinnant's algorithm).
    public static func utc(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let t = Int((date.timeIntervalSince1970).rounded(.down))
        let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
        let secs = t - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day, secs / 3600, secs % 3600 / 60, secs % 60)
    }

    /// `2025-03-01T00:00:00Z`.
    public static func iso8601(_ date: Date) -> String {
        let c = utc(date)
        return "\(padded(c.year, 4))-\(padded(c.month, 2))-\(padded(c.day, 2))T\(padded(c.hour, 2)):\(padded(c.minute, 2)):\(padded(c.second, 2))Z"
    }

    /// `iso8601(date)` appended as UTF-8 without building a string.
    public static func iso8601(_ date: Date, into out: inout [UInt8]) {
        let c = utc(date)
        func digits(_ v: Int, _ n: Int) {
            var d = 1
            for _ in 1..<n { d *= 10 }
            while d > 0 { out.append(UInt8(ascii: "0") + UInt8((v / d) % 10)); d /= 10 }
        }
        digits(c.year, 4); out.append(UInt8(ascii: "-")); digits(c.month, 2); out.append(UInt8(ascii: "-")); digits(c.day, 2)
        out.append(UInt8(ascii: "T")); digits(c.hour, 2); out.append(UInt8(ascii: ":")); digits(c.minute, 2)
        out.append(UInt8(ascii: ":")); digits(c.second, 2); out.append(UInt8(ascii: "Z"))
    }

    /// `20250301-000000`, for case folder names.
    public static func stamp(_ date: Date) -> String {
        let c = utc(date)
        return "\(padded(c.year, 4))\(padded(c.month, 2))\(padded(c.day, 2))-\(padded(c.hour, 2))\(padded(c.minute, 2))\(padded(c.second, 2))"
    }

    /// `HH:mm:ss.SSS`, rounded (not truncated) to the millisecond.
    public static func clock(_ date: Date) -> String {
        let ms = Int((date.timeIntervalSince1970 * 1000).rounded())
        let c = utc(Date(timeIntervalSince1970: Double(ms / 1000)))
        return "\(padded(c.hour, 2)):\(padded(c.minute, 2)):\(padded(c.second, 2)).\(padded(ms % 1000, 3))"
    }
}
