import Testing
@testable import TriageKit

/// How often a run rewrites its reports: the group's interval, stretched to four times the last
/// write's duration when rendering is slow (a runbook of hundreds of steps), so that writing the
/// reports takes at most a fifth of the run instead of serialising it step by step.
@Suite struct ReportThrottleTests {
    @Test func slowRendersAreSpacedByFourTimesTheirDuration() {
        #expect(ReportThrottle.spacing(interval: .milliseconds(250), lastWrite: .milliseconds(3)) == .milliseconds(250))
        #expect(ReportThrottle.spacing(interval: .milliseconds(250), lastWrite: .milliseconds(62)) == .milliseconds(250))
        #expect(ReportThrottle.spacing(interval: .milliseconds(250), lastWrite: .milliseconds(63)) == .milliseconds(252))
        #expect(ReportThrottle.spacing(interval: .milliseconds(100), lastWrite: .milliseconds(240)) == .milliseconds(960))
    }
}
