import Testing
import TriageProbes

@Suite struct LibraryVersionsTests {
    @Test func librariesLoadOnDemand() {
        #expect(LibraryVersions.openSSL.hasPrefix("OpenSSL 3."))
        #expect(LibraryVersions.curl?.hasPrefix("libcurl/") == true)
        #expect(LibraryVersions.pcap?.hasPrefix("libpcap version 1.") == true)
    }
}
