import Foundation
import TriageKit
#if canImport(Glibc)
import Glibc
#endif

/// The nginx running on this machine that listens on a port (the `--via`
/// proxy's): the socket's inode in /proc/net/tcp{,6}, the process holding it
/// (a worker, whose master is its parent), and the configuration that master
/// was started with — its `-c FILE` (relative to `-p PREFIX`), else the
/// binary's compiled `--conf-path`. Reads /proc only; needs the right to see
/// the process's descriptors (root, or nginx's own user). Nothing found is
/// nil: the proxy is elsewhere, or not nginx.
public enum NginxDiscovery {
    public struct Found: Sendable, Equatable {
        /// The master process.
        public var pid: Int32
        /// Its configuration file, absolute.
        public var conf: String
        public var binary: String?
        /// Its `-p PREFIX`, when started with one: nginx reads the configuration's relative paths (its pid
        /// file, its logs) against it, so `nginx -s reload` must be given it too.
        public var prefix: String?
    }

    public static func listening(on port: Int, proc: String = "/proc") async -> Found? {
        // /proc/net/tcp is generated as it is read: sockets that come and go between two reads can
        // make a line slip by. Big reads, and a second look before saying there is none.
        var inodes = listeningInodes(port: port, proc: proc)
        for _ in 0..<2 where inodes.isEmpty {
            try? await Task.sleep(for: .milliseconds(50))
            inodes = listeningInodes(port: port, proc: proc)
        }
        // Of the processes holding the socket, nginx's (its master and workers).
        guard !inodes.isEmpty, let holder = processes(holding: inodes, proc: proc).first(where: {
            read("\(proc)/\($0)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) == "nginx"
        }) else { return nil }
        // A worker holds the listening socket as its master does; the master's title names how nginx was started.
        var master = holder
        if let title = commandLine(holder, proc: proc), title.contains("worker process"), let parent = parent(of: holder, proc: proc) {
            master = parent
        }
        guard let title = commandLine(master, proc: proc), title.hasPrefix("nginx: master process") || title.contains("nginx") else { return nil }
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(proc)/\(master)/exe"))
        let (conf, prefix) = options(title)
        let compiled = conf == nil ? await binary.asyncMap(compiledPaths) ?? nil : nil
        guard var path = conf ?? compiled?.conf else { return nil }
        if !path.hasPrefix("/") {
            let base = prefix ?? compiled?.prefix ?? "/"
            path = (base.hasSuffix("/") ? base : base + "/") + path
        }
        return Found(pid: master, conf: path, binary: binary, prefix: prefix)
    }

    /// `-c FILE` and `-p PREFIX` from a master's title (`nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf`).
    static func options(_ title: String) -> (conf: String?, prefix: String?) {
        let words = title.split(separator: " ").map(String.init)
        func after(_ flag: String) -> String? { words.firstIndex(of: flag).flatMap { words.indices.contains($0 + 1) ? words[$0 + 1] : nil } }
        return (after("-c"), after("-p"))
    }

    /// `--conf-path=` and `--prefix=` of `nginx -V`.
    static func compiledPaths(_ binary: String) async -> (conf: String?, prefix: String?)? {
        guard case .finished(.success(let r)) = await withDeadline(.seconds(3), { try await Subprocess([binary, "-V"]).run() }) else { return nil }
        let text = String(decoding: r.stdout + r.stderr, as: UTF8.self)
        func value(_ name: String) -> String? {
            text.split(separator: " ").first { $0.hasPrefix("--\(name)=") }.map { String($0.dropFirst(name.count + 3)) }
        }
        return (value("conf-path"), value("prefix"))
    }

    /// Inodes of sockets listening on `port` (TCP, IPv4 and IPv6).
    static func listeningInodes(port: Int, proc: String) -> Set<String> {
        var out = Set<String>()
        for table in ["net/tcp", "net/tcp6"] {
            guard let text = read("\(proc)/\(table)") else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count > 9, f[3] == "0A", let colon = f[1].lastIndex(of: ":"),
                      Int(f[1][f[1].index(after: colon)...], radix: 16) == port else { continue }
                out.insert(String(f[9]))
            }
        }
        return out
    }

    /// The processes with a descriptor on one of `inodes`.
    static func processes(holding inodes: Set<String>, proc: String) -> [Int32] {
        let wanted = Set(inodes.map { "socket:[\($0)]" })
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: proc) else { return [] }
        var out: [Int32] = []
        for name in pids {
            guard let pid = Int32(name), let fds = try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/\(name)/fd") else { continue }
            if fds.contains(where: { fd in (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(proc)/\(name)/fd/\(fd)")).map(wanted.contains) ?? false }) {
                out.append(pid)
            }
        }
        return out
    }

    static func commandLine(_ pid: Int32, proc: String) -> String? {
        guard let data = FileManager.default.contents(atPath: "\(proc)/\(pid)/cmdline") else { return nil }
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    static func parent(of pid: Int32, proc: String) -> Int32? {
        // stat: `pid (comm) state ppid …`; comm may hold spaces, so count from its closing parenthesis.
        guard let stat = read("\(proc)/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        return rest.count > 1 ? Int32(rest[1]) : nil
    }

    /// A /proc file in reads of 1 MiB (its size says 0).
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while out.count < 64 << 20 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Optional {
    fileprivate func asyncMap<U>(_ transform: (Wrapped) async -> U) async -> U? {
        guard let self else { return nil }
        return await transform(self)
    }
}
