import Foundation
import Testing
@testable import TriageProbes
import TriageTestSupport

/// Probes made from the same trust, client identity and verification memory share one OpenSSL
/// context (each context loads its CA bundle: 500 exporter modules with the system's store held
/// 441 MB); another bundle gets its own, and a context goes with its last probe.
@Suite struct SharedContextTests {
    @Test func equalOptionsShareOneContextHeldWeakly() throws {
        let ca = try TLSFixtures.file(try TLSFixtures.root().certificatePEM)
        var options = EndpointProbe.Options()
        options.caFile = ca
        var other = options
        other.caFile = nil
        weak var shared: SSLContext?
        do {
            let a = try EndpointProbe(options), b = try EndpointProbe(options), c = try EndpointProbe(other)
            #expect(a.context === b.context)
            #expect(a.context !== c.context)
            #expect(a.with(timeout: .seconds(1)).context === a.context)
            shared = a.context
            #expect(shared != nil)
        }
        #expect(shared == nil, "the context outlived its probes")
    }
}
