/// One direction of a TCP connection put back in order: retransmissions and
/// overlaps trimmed, out-of-order segments held (up to a bound) until the
/// hole before them fills. A hole that never fills is skipped and reported,
/// so a capture that lost packets still yields what follows.
struct TCPStream {
    private var next: UInt32?
    private var pending: [UInt32: ArraySlice<UInt8>] = [:]
    private var pendingBytes = 0
    static let pendingLimit = 256 * 1024
    /// Set when bytes were skipped; the consumer must resynchronise.
    var skipped = false

    /// Adds a segment; returns the bytes that became contiguous.
    mutating func add(sequence: UInt32, syn: Bool, payload: ArraySlice<UInt8>) -> [UInt8] {
        if syn { next = sequence &+ 1; return [] }
        if next == nil { next = sequence } // the capture starts mid-connection
        guard !payload.isEmpty, var expected = next else { return [] }
        var out: [UInt8] = []
        func accept(_ seq: UInt32, _ data: ArraySlice<UInt8>) -> Bool {
            let ahead = Int32(bitPattern: seq &- expected)
            if ahead > 0 { return false }
            let overlap = -Int(ahead) // not Int(-ahead): -Int32.min traps (found by make fuzz)
            if overlap < data.count {
                out += data.dropFirst(overlap)
                expected = expected &+ UInt32(data.count - overlap)
            }
            return true
        }
        if !accept(sequence, payload) {
            if pending[sequence].map({ $0.count < payload.count }) ?? true {
                pendingBytes += payload.count - (pending[sequence]?.count ?? 0)
                pending[sequence] = payload
            }
        }
        var progressed = true
        while progressed, !pending.isEmpty {
            progressed = false
            for (seq, data) in pending where Int32(bitPattern: seq &- expected) <= 0 {
                pending[seq] = nil
                pendingBytes -= data.count
                _ = accept(seq, data)
                progressed = true
            }
            if !progressed, pendingBytes > Self.pendingLimit {
                // The hole is not coming back: jump to the earliest held segment.
                let earliest = pending.keys.min { Int32(bitPattern: $0 &- expected) < Int32(bitPattern: $1 &- expected) }!
                expected = earliest
                skipped = true
                progressed = true
            }
        }
        next = expected
        return out
    }
}
