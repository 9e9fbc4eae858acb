import Testing
import TriageWire

@Suite struct AlertDescriptionTests {
    @Test func registryIsCompleteAndOrdered() {
        let codes = AlertDescription.all.map(\.code)
        #expect(codes == [0, 10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 60, 70, 71, 80, 86, 90,
                          100, 109, 110, 111, 112, 113, 114, 115, 116, 117, 120, 121])
        #expect(Set(AlertDescription.all.map(\.name)).count == codes.count)
        #expect(AlertDescription.named(80)?.reference == "RFC 8446 §6.2")
        #expect(AlertDescription.named("Internal Error")?.code == 80)
        #expect(AlertDescription.named(0)?.alwaysFatal == false)
        #expect(AlertDescription.named(41)?.deprecated == true)
    }
}
