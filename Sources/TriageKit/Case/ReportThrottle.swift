/// The reports a run rewrites while its steps finish: `report.json` at most
/// every 100 ms and `report.md` every 250 ms, so a fast run does not
/// serialise itself once per step; and a record that came within that
/// interval of the last write is written when the interval ends, not only
/// when the next step finishes. (Without that, the steps that ended just
/// before a long one were on disk only after it: a run killed meanwhile left
/// "0 of 14 steps done" beside their evidence.) A report that takes long to
/// render (hundreds of steps) is rewritten less often: at least four times its
/// render's duration after the last write ended, so writing takes at most a
/// fifth of the run. (Rewritten after every step instead, a 700-step runbook
/// took 10 s where 600 steps took 0.7, and 1,000 steps over two minutes.)
actor ReportThrottle {
    private struct Group {
        let formats: Set<CaseFolder.Format>
        let interval: Duration
        /// The time from the last write to the next: the interval, or four times that write's duration.
        var spacing: Duration
        var last: ContinuousClock.Instant
        /// The sequence number of the record last written.
        var written = 0
        var timer: Task<Void, Never>?
    }

    private let folder: CaseFolder
    /// The first render of the text formats (before the first step): every later one waits for it.
    private let firstText: Task<Void, Never>?
    private var groups: [Group]
    private var latest: CaseRecord?
    private var sequence = 0
    private var closed = false

    init(folder: CaseFolder, start: ContinuousClock.Instant, firstText: Task<Void, Never>?) {
        self.folder = folder
        self.firstText = firstText
        groups = [Group(formats: folder.formats.intersection([.json]), interval: .milliseconds(100), spacing: .milliseconds(100), last: start),
                  Group(formats: folder.formats.intersection([.md]), interval: .milliseconds(250), spacing: .milliseconds(250), last: start)]
            .filter { !$0.formats.isEmpty }
    }

    /// A step finished: `record` is written now where its interval has passed, else when it does.
    func finished(_ record: CaseRecord) async {
        guard !closed else { return }
        sequence += 1
        latest = record
        for i in groups.indices { await writeOrWait(i) }
    }

    /// The run's end: no write of an earlier record comes after this one.
    func close(with record: CaseRecord) async throws {
        closed = true
        for i in groups.indices { groups[i].timer?.cancel() }
        await firstText?.value
        try folder.write(record, formats: folder.formats)
    }

    private func writeOrWait(_ i: Int) async {
        guard !closed, groups[i].written < sequence else { return }
        let due = groups[i].last + groups[i].spacing
        guard ContinuousClock.now >= due else {
            if groups[i].timer == nil {
                groups[i].timer = Task { [weak self] in
                    try? await Task.sleep(until: due, clock: .continuous)
                    await self?.timerFired(i)
                }
            }
            return
        }
        groups[i].last = .now
        if !groups[i].formats.isDisjoint(with: [.md, .jira]) { await firstText?.value }
        // (Re-read after the wait: a later record may have come, or the run ended.)
        guard !closed, let record = latest, groups[i].written < sequence else { return }
        groups[i].written = sequence
        let started = ContinuousClock.now
        try? folder.write(record, formats: groups[i].formats)
        groups[i].last = .now
        groups[i].spacing = Self.spacing(interval: groups[i].interval, lastWrite: groups[i].last - started)
    }

    /// The time from the end of a write to the next one: the group's interval, or four times what the
    /// write took when that is longer (writing then takes at most a fifth of the run).
    static func spacing(interval: Duration, lastWrite: Duration) -> Duration {
        max(interval, lastWrite * 4)
    }

    private func timerFired(_ i: Int) async {
        groups[i].timer = nil
        await writeOrWait(i)
    }
}
