import Foundation
import TriageKit
import TriageWire

/// Typed access to what a report says, for assertions that name the fact
/// they check (`root?.fact(.notAfter)`) rather than its label.
extension ReportDocument.CauseEntry {
    public func fact(_ key: FactKey) -> Value? { typedFacts[key] }
    public func facts(_ key: FactKey) -> [Value] { typedFacts.all(key) }

    public var alert: TLSAlert? {
        if case .typed(.alert(let a))? = fact(.alert) { return a }
        return nil
    }

    public func date(_ key: FactKey) -> Date? {
        if case .typed(.date(let d))? = fact(key) { return d }
        return nil
    }
}

extension ReportDocument.StepEntry {
    public func fact(_ key: FactKey) -> Value? { typedFacts[key] }
}

extension StepResult {
    public func fact(_ key: FactKey) -> Value? { facts[key] }

    /// An output's typed alert.
    public func alert(_ output: String = "alert") -> TLSAlert? {
        if case .typed(.alert(let a))? = outputs[output] { return a }
        return nil
    }
}

extension Value {
    public var alert: TLSAlert? { if case .typed(.alert(let a)) = self { a } else { nil } }
    public var date: Date? { if case .typed(.date(let d)) = self { d } else { nil } }
    public var endpoint: Endpoint? { if case .typed(.endpoint(let e)) = self { e } else { nil } }
}

extension Message {
    /// The sentence as the English table writes it.
    public var english: String { TextTable.english.render(self) }
}

extension Value {
    /// The elements of a list as text (addresses, endpoints, strings alike).
    public var texts: [String]? { listValue?.map(\.text) }
}
