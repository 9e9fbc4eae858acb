import Foundation
internal import CTriageShims
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide settings applied at start.
public enum ProcessTuning {
    /// Steps run on several threads for a few milliseconds each; glibc would
    /// give each thread its own malloc arena. A couple are plenty and keep
    /// the resident set small (see the benchmark).
    public static func limitMallocArenas(_ count: Int) {
        triage_limit_malloc_arenas(Int32(count))
    }

    /// Gives the memory malloc holds free back to the system (glibc keeps it in each thread's
    /// arena: after a burst of probes the exporter stayed 40 MB above its baseline).
    public static func releaseFreeMemory() {
        triage_malloc_trim()
    }

    /// A scan keeps thousands of sockets open: lift the soft descriptor
    /// limit to the hard one (commonly 1024 → 524288).
    public static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// This process's peak resident set (VmHWM of /proc/self/status), in kB.
    public static var peakResidentKB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    /// How many descriptors this process has open now (0 when /proc cannot say).
    public static var openDescriptors: Int { max(0, Int(triage_open_descriptor_count())) }

    /// Raises the soft descriptor limit, then says why `what` cannot run when fewer than
    /// `minimum` descriptors are free; nil when enough are. A scan under `ulimit -n 10` would
    /// otherwise wait out every endpoint's deadline for a socket it can never get.
    public static func descriptorShortage(for what: String, minimum: Int = 32) -> String? {
        raiseOpenFileLimit()
        let limit = openFileLimit, open = openDescriptors
        guard limit - open < minimum else { return nil }
        return "only \(max(0, limit - open)) file descriptor(s) are free (limit \(limit), \(open) open); \(what) needs at least \(minimum): "
            + "raise the limit (`ulimit -n 4096`, LimitNOFILE= in a systemd unit)"
    }

    /// The soft descriptor limit now.
    public static var openFileLimit: Int {
        var limit = rlimit()
        return getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(limit.rlim_cur) : 1024
    }
}
