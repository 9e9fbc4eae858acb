import Foundation

/// Writes a file so that a reader sees either the old or the whole new
/// content, never half: write a temporary file beside it, then rename(2)
/// over the target. There is no fsync: rename is atomic against a crash of
/// triage, which is what a partial case needs; surviving a power cut is not
/// worth 13 disk flushes per run (see the benchmark in the README).
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws(CaseFiles.Failure) {
        try CaseFiles.write(data, root: url.deletingLastPathComponent(), path: [url.lastPathComponent])
    }

    public static func write(_ text: String, to url: URL) throws(CaseFiles.Failure) {
        try write(Data(text.utf8), to: url)
    }
}
