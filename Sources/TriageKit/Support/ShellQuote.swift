/// Quotes an argv for display as a shell command line.
public enum ShellQuote {
    public static func join(_ argv: [String]) -> String { argv.map(quote).joined(separator: " ") }

    public static func quote(_ s: String) -> String {
        guard s.isEmpty || s.contains(where: { !($0.isLetter || $0.isNumber || "-_./:=@,+%".contains($0)) }) else { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
