// Shared-memory offers a hostile or broken worker could make: a FIFO (which would block an
// open), a symlink, a path outside the pattern, a segment truncated after it was accepted.
import AgonWire
import Foundation
import Testing

@Suite struct SharedSegmentHostileTests {
    /// A path of the documented pattern, `/dev/shm/agon-worker-PID-12 hex digits`, free now.
    static func offerPath() -> String {
        "/dev/shm/agon-worker-\(getpid())-" + String(format: "%012llx", UInt64.random(in: 0..<(1 << 48)))
    }

    @Test("a FIFO is refused at once (not opened and waited on)")
    func fifoIsRefused() throws {
        let path = Self.offerPath()
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let started = Date()
        #expect(throws: WireError.self) { try SharedSegment.open(path: path, token: [UInt8](repeating: 0, count: 16), count: 4) }
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test("a symlink to a real segment is refused")
    func symlinkIsRefused() throws {
        let segment = try SharedSegment.create(role: "worker", count: 4)
        defer { segment.unlink() }
        let link = Self.offerPath()
        #expect(symlink(segment.path, link) == 0)
        defer { unlink(link) }
        #expect(throws: WireError.self) { try SharedSegment.open(path: link, token: segment.token, count: 4) }
        _ = try SharedSegment.open(path: segment.path, token: segment.token, count: 4)   // the file itself opens
    }

    @Test("a path outside /dev/shm/agon-ROLE-PID-HEX is refused", arguments: [
        "/dev/shm/agon-worker-1-abc/../../etc/passwd", "/dev/shm/agon-", "/dev/shm/agon-worker-x-0123456789ab",
        "/dev/shm/agon-worker-12-0123456789ab/x", "/dev/shm/agon-worker-12-0123456789aB", "/tmp/agon-worker-12-0123456789ab",
    ])
    func pathOutsideThePatternIsRefused(path: String) {
        #expect(throws: WireError.self) { try SharedSegment.open(path: path, token: [UInt8](repeating: 0, count: 16), count: 4) }
    }

    @Test("a segment truncated under its reader does not kill the reader: it reads zeros and says it shrank")
    func shrunkSegmentIsSurvived() throws {
        let writer = try SharedSegment.create(role: "worker", count: 4096)
        defer { writer.unlink() }
        let reader = try SharedSegment.open(path: writer.path, token: writer.token, count: 4096)
        let sequence = writer.publish { $0.update(repeating: 7, count: 4096) }
        var first: Float = -1
        #expect(reader.read(atSequence: sequence) { first = $0[4095] })
        #expect(first == 7)
        #expect(truncate(writer.path, 0) == 0)
        // The header's sequence reads as zero now, so a locked read says it was overtaken.
        #expect(!reader.read(atSequence: sequence) { _ in })
        // The coordinator averages straight from the values: SIGBUS without the guard.
        #expect(reader.readableValues[4095] == 0)
        #expect(!reader.isIntact)
    }
}
