import Foundation
import TriageKit

/// A named set of anchors a client population trusts (`--trust-store
/// java=/etc/ssl/certs/java/cacerts`): a PEM bundle, or a PKCS#12 file (Java's
/// and Windows' format, password `changeit` unless given as `FILE:PASSWORD`),
/// turned into a PEM bundle OpenSSL loads.
public struct TrustStore: Sendable, Hashable {
    public var name: String
    /// The file given.
    public var file: String
    /// The PEM bundle OpenSSL verifies with (the file itself, or its certificates converted).
    public var pem: String
    public var count: Int

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// A new folder for the PEM bundles of PKCS#12 stores, under the temporary directory; whoever
    /// loads stores into it removes it (`TemporaryFolders.remove`) when they are no longer used (the end
    /// of a step, a scan, an exporter), and what is left is removed when triage leaves.
    public static func scratchFolder() -> URL { TemporaryFolders.make("triage-stores") }

    /// Why `--trust-store` specs cannot be used together: a NAME given twice (a report names stores by
    /// NAME, so two stores of one name cannot be told apart); nil when they can.
    public static func repeatedNameProblem(_ specs: [String]) -> String? {
        var seen: Set<Substring> = []
        for spec in specs {
            guard let name = spec.split(separator: "=", maxSplits: 1).first else { continue }
            if !seen.insert(name).inserted {
                return "--trust-store \(Sink.echo(String(name), limit: 60)) is given twice: each store needs a name of its own"
            }
        }
        return nil
    }

    /// `NAME=FILE[:PASSWORD]` taken apart (the password, when given, with its colon).
    static func parse(_ spec: String) throws(Problem) -> (name: String, file: String, password: String?) {
        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[0].unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }) else {
            throw Problem(description: "--trust-store '\(Sink.echo(spec, limit: 80))' is not NAME=FILE (a PEM bundle or a PKCS#12 file)")
        }
        if !FileManager.default.fileExists(atPath: parts[1]), let colon = parts[1].lastIndex(of: ":") {
            return (parts[0], String(parts[1][..<colon]), String(parts[1][parts[1].index(after: colon)...]))
        }
        return (parts[0], parts[1], nil)
    }

    /// The spec with its file made stable (`StableInput`): a store given as a pipe is read once,
    /// and every later load reads the copy.
    public static func stableSpec(_ spec: String) throws(Problem) -> String {
        let (name, file, password) = try parse(spec)
        let stable: String
        do { stable = try StableInput.path(file, what: "the trust store") } catch { throw Problem(description: error.description) }
        return "\(name)=\(stable)" + (password.map { ":\($0)" } ?? "")
    }

    /// `stableSpec`, then `load`: a problem names the file as it was given (not the copy triage made of a
    /// pipe or of `/dev/null`). Returns the store and the stable spec.
    public static func loadAsGiven(_ spec: String, scratch: URL) throws(Problem) -> (store: TrustStore, spec: String) {
        let stable = try stableSpec(spec)
        do {
            return (try load(stable, scratch: scratch), stable)
        } catch {
            let (_, given, _) = try parse(spec)
            let (_, copy, _) = try parse(stable)
            throw Problem(description: copy == given ? error.description : error.description.replacingOccurrences(of: copy, with: given))
        }
    }

    /// `NAME=FILE[:PASSWORD]`; a PKCS#12 file's certificates are written to `scratch`.
    public static func load(_ spec: String, scratch: URL) throws(Problem) -> TrustStore {
        let (name, file, given) = try parse(spec)
        let password = given ?? "changeit"
        if let why = Readable.why(file) { throw Problem(description: "cannot read the trust store \(file): \(why)") }
        guard let data = FileManager.default.contents(atPath: file) else { throw Problem(description: "cannot read the trust store \(file)") }
        let text = String(decoding: data.prefix(1 << 20), as: UTF8.self)
        if text.contains("-----BEGIN CERTIFICATE-----") {
            let count = text.components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
            return TrustStore(name: name, file: file, pem: file, count: count)
        }
        guard let (pem, count) = X509Certificate.pkcs12Certificates([UInt8](data), password: password) else {
            throw Problem(description: "\(file) is neither a PEM bundle nor a PKCS#12 file this password opens")
        }
        guard count > 0 else { throw Problem(description: "\(file) holds no certificate") }
        try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        // A file of its own per load: modules of one exporter share the folder, and may name stores alike.
        let out = scratch.appendingPathComponent("trust-store-\(FileName.safe(name))-\(UUID().uuidString.prefix(8)).pem")
        do { try pem.write(to: out, atomically: true, encoding: .utf8) } catch {
            throw Problem(description: "cannot write \(out.path)")
        }
        guard TemporaryFolders.stillWanted(scratch) else { throw Problem(description: "triage is leaving") }
        return TrustStore(name: name, file: file, pem: out.path, count: count)
    }
}
