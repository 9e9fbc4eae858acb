import Foundation
import TriageWire

/// A value that keeps its domain type as it travels between steps: an
/// alert, a certificate chain, an address. Expressions see its properties
/// (`steps.handshake.outputs.alert.code`), JSON and templates its plain
/// projection, and a step that takes it as input gets the value itself —
/// a chain is never PEM text that the next step parses again.
public enum TypedValue: Sendable, Hashable {
    case date(Date)
    case address(IPAddress)
    case endpoint(Endpoint)
    case alert(TLSAlert)
    case certificate(Certificate)
    case chain(CertificateChain)
    /// How a client connects (the proxy's upstream connection), for the handshake that replays it.
    case profile(ClientProfile)
    /// Text from the language tables, rendered where it is shown.
    case message(Message)

    public var type: ValueType {
        switch self {
        case .date: .date
        case .address: .address
        case .endpoint: .endpoint
        case .alert: .alert
        case .certificate: .certificate
        case .chain: .chain
        case .profile: .profile
        case .message: .string
        }
    }

    /// What JSON and templates see.
    public var plain: Value {
        switch self {
        case .date(let d): .string(ISO8601.string(d))
        case .address(let a): .string(a.description)
        case .endpoint(let e): .string(e.description)
        case .message(let m): .string(TextTable.english.render(m))
        case .alert, .certificate, .chain, .profile:
            .object(Dictionary(uniqueKeysWithValues: type.properties!.keys.map { ($0, property($0)?.plain ?? .null) }))
        }
    }

    /// A property for an expression path; nil when the type has none of that name.
    public func property(_ name: String) -> Value? {
        switch self {
        case .alert(let a):
            switch name {
            case "code": return .int(Int(a.code))
            case "name": return .string(a.name)
            case "level": return .string(a.level.name)
            case "sender": return .string(a.sender.rawValue)
            case "variant": return a.variant.map { .string($0.description) } ?? .null
            case "address": return a.server.map { .typed(.endpoint($0)) } ?? .null
            case "sni": return a.serverName.map(Value.string) ?? .null
            default: return nil
            }
        case .certificate(let c):
            switch name {
            case "subject": return .string(c.subject)
            case "issuer": return .string(c.issuer)
            case "serial": return .string(c.serial)
            case "not_before": return .typed(.date(c.notBefore))
            case "not_after": return .typed(.date(c.notAfter))
            case "sans": return .list(c.alternativeNames.map { .string($0.description) })
            case "key": return .string("\(c.keyAlgorithm) \(c.keyBits)")
            case "signature": return .string(c.signatureAlgorithm)
            case "self_signed": return .bool(c.isSelfSigned)
            case "ca": return .bool(c.isCA)
            case "sha256": return .string(c.sha256)
            case "ski": return c.subjectKeyID.map(Value.string) ?? .null
            case "aki": return c.authorityKeyID.map(Value.string) ?? .null
            case "pem": return .string(c.pem)
            default: return nil
            }
        case .chain(let chain):
            switch name {
            case "certificates": return .list(chain.certificates.map { .typed(.certificate($0)) })
            case "leaf": return chain.leaf.map { .typed(.certificate($0)) } ?? .null
            case "addresses": return .list(chain.servers.map { .typed(.endpoint($0)) })
            case "variants": return .list(chain.variants.map { .string($0.description) })
            case "sni": return chain.serverName.map(Value.string) ?? .null
            case "pem": return .list(chain.certificates.map { .string($0.pem) })
            case "file": return chain.file.map(Value.string) ?? .null
            default: return nil
            }
        case .endpoint(let e):
            switch name {
            case "address": return .typed(.address(e.address))
            case "port": return .int(Int(e.port))
            default: return nil
            }
        case .address(let a):
            return name == "family" ? .string(a.family.rawValue) : nil
        case .profile(let p):
            switch name {
            case "name": return .string(p.name)
            case "sni":
                switch p.sni {
                case .none: return .string("none")
                case .name(let n): return .string(n)
                case .asClient, .ip: return .string(p.sni.description)
                }
            case "verifies": return .bool(p.verifies)
            case "verify_name": return p.verifyName.map(Value.string) ?? .null
            case "ca_file": return p.caFile.map(Value.string) ?? .null
            case "min_version": return p.minVersion.map(Value.string) ?? .null
            case "max_version": return p.maxVersion.map(Value.string) ?? .null
            case "client_cert": return p.clientCertificate.map(Value.string) ?? .null
            case "version": return p.version.map { .string($0.version.description) } ?? .null
            default: return nil
            }
        case .date, .message:
            return nil
        }
    }

    /// The text a value becomes inside a string: a certificate or chain
    /// becomes PEM, so `exec` steps can hand it to openssl.
    public var text: String {
        switch self {
        case .date(let d): ISO8601.string(d)
        case .address(let a): a.description
        case .endpoint(let e): e.description
        case .alert(let a): "\(a.code)"
        case .certificate(let c): c.pem
        case .chain(let c): c.certificates.map(\.pem).joined()
        case .profile(let p): p.name
        case .message(let m): TextTable.english.render(m)
        }
    }
}

/// The type of a step input or output, for the loader's checks, the schema
/// and the README's step table.
public indirect enum ValueType: Sendable, Hashable, CustomStringConvertible {
    case string, integer, number, boolean, date, address, endpoint, alert, certificate, chain, profile
    /// A structured value whose fields are listed in the output's description.
    case object
    case any
    case list(ValueType)

    /// A list, or a type that may hold one (an object, any).
    public var isListLike: Bool {
        switch self {
        case .list, .any, .object: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .date: "date"
        case .address: "address"
        case .endpoint: "endpoint"
        case .alert: "alert"
        case .certificate: "certificate"
        case .chain: "chain"
        case .profile: "profile"
        case .object: "object"
        case .any: "any"
        case .list(let element): "list of \(element)"
        }
    }

    /// The properties an expression may ask for; nil when anything goes
    /// (an object or any), empty for a scalar.
    public var properties: [String: ValueType]? {
        switch self {
        case .alert:
            ["code": .integer, "name": .string, "level": .string, "sender": .string, "variant": .string,
             "address": .endpoint, "sni": .string]
        case .certificate:
            ["subject": .string, "issuer": .string, "serial": .string, "not_before": .date, "not_after": .date,
             "sans": .list(.string), "key": .string, "signature": .string, "self_signed": .boolean, "ca": .boolean,
             "sha256": .string, "ski": .string, "aki": .string, "pem": .string]
        case .chain:
            ["certificates": .list(.certificate), "leaf": .certificate, "addresses": .list(.endpoint),
             "variants": .list(.string), "sni": .string, "pem": .list(.string), "file": .string]
        case .profile:
            ["name": .string, "sni": .string, "verifies": .boolean, "verify_name": .string, "ca_file": .string,
             "min_version": .string, "max_version": .string, "client_cert": .string, "version": .string]
        case .endpoint: ["address": .address, "port": .integer]
        case .address: ["family": .string]
        // A string may be a URL: `inputs.url.host`.
        case .string: Dictionary(uniqueKeysWithValues: URLPart.allCases.map { ($0.rawValue, $0 == .port ? ValueType.integer : .string) })
        case .object, .any: nil
        case .integer, .number, .boolean, .date, .list: [:]
        }
    }
}
