internal import CTriageShims

/// Process-wide settings the executable applies at start.
public enum ProcessTuning {
    /// Steps run on several threads for a few milliseconds each; glibc would
    /// give each thread its own malloc arena. A couple are plenty and keep
    /// the resident set small (see the benchmark).
    public static func limitMallocArenas(_ count: Int) {
        triage_limit_malloc_arenas(Int32(count))
    }
}
