#if canImport(Glibc)
import Glibc
#endif

extension CaptureReader {
    /// A reader over a file, read into one buffer (up to 4 MiB at a time).
    public static func open(path: String) throws(CaptureError) -> CaptureReader {
        guard let file = fopen(path, "rb") else {
            throw CaptureError(offset: 0, message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        let handle = FileBox(file)
        var status = stat()
        let size = fstat(fileno(file), &status) == 0 ? Int(status.st_size) : nil
        var reader = try CaptureReader(readInto: { target in handle.read(into: target) })
        reader.sizeHint = size
        return reader
    }

    /// A reader over a capture already in memory.
    public init(bytes: [UInt8]) throws(CaptureError) {
        var position = 0
        try self.init { n in
            defer { position = min(bytes.count, position + n) }
            return Array(bytes[position..<min(bytes.count, position + n)])
        }
        sizeHint = bytes.count
    }
}

/// Owns a FILE* for a reader's lifetime.
final class FileBox {
    let file: UnsafeMutablePointer<FILE>
    init(_ file: UnsafeMutablePointer<FILE>) { self.file = file }
    deinit { fclose(file) }

    func read(into target: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = target.baseAddress, target.count > 0 else { return 0 }
        return fread(base, 1, target.count, file)
    }

    func read(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        let got = out.withUnsafeMutableBytes { fread($0.baseAddress, 1, n, file) }
        out.removeLast(n - got)
        return out
    }
}
