// SharedSegment: a segment one side writes is read whole by the other, a read overtaken by a
// write (of the part it reads) says so, and a path, token or size that does not match is refused with one line.
import AgonWire
import Foundation
import Testing

@Suite struct SharedSegmentTests {
    @Test func aPublishedWriteIsReadWholeThroughAnotherMapping() throws {
        let writer = try SharedSegment.create(role: "test", count: 1000)
        defer { writer.unlink() }
        let reader = try SharedSegment.open(path: writer.path, token: writer.token, count: 1000)
        #expect(writer.path.hasPrefix("/dev/shm/agon-test-\(getpid())-"))
        let sequence = writer.publish { values in
            for i in 0..<1000 { values[i] = Float(i) * 0.5 }
        }
        #expect(sequence % 2 == 0 && sequence > 0)
        var read = [Float](repeating: -1, count: 1000)
        let whole = reader.read(atSequence: sequence) { values in
            for i in 0..<1000 { read[i] = values[i] }
        }
        #expect(whole)
        #expect(read == (0..<1000).map { Float($0) * 0.5 })
    }

    @Test func aReadOfAnOlderWriteFails() throws {
        let writer = try SharedSegment.create(role: "test", count: 4)
        defer { writer.unlink() }
        let reader = try SharedSegment.open(path: writer.path, token: writer.token, count: 4)
        let first = writer.publish { $0.update(repeating: 1, count: 4) }
        let second = writer.publish { $0.update(repeating: 2, count: 4) }
        #expect(second > first)
        #expect(!reader.read(atSequence: first) { _ in })
        // A write that begins while the reader reads: the reader is told to discard what it saw.
        let overtaken = reader.read(atSequence: second) { _ in
            writer.publish { $0.update(repeating: 3, count: 4) }
        }
        #expect(!overtaken)
        var last: Float = 0
        #expect(reader.read(atSequence: reader.currentSequence) { last = $0[3] })
        #expect(last == 3)
    }

    @Test("a write to one part leaves reads of the other part whole; a write to the part read overtakes it")
    func partsAreOvertakenOnlyByTheirOwnWrites() throws {
        let writer = try SharedSegment.create(role: "test", count: 4)
        defer { writer.unlink() }
        let reader = try SharedSegment.open(path: writer.path, token: writer.token, count: 4)
        writer.publish { $0.update(repeating: 0, count: 4) }   // every part
        // Part 1 (values 2..<4) written, announced at `d`; then part 0 written, as the
        // coordinator writes D's parameters and then G's.
        let d = writer.publish(parts: [1]) { $0[2] = 1; $0[3] = 1 }
        let g = writer.publish(parts: [0]) { $0[0] = 2; $0[1] = 2 }
        #expect(!reader.read(atSequence: d) { _ in }, "a whole-segment read at d was overtaken by the write of part 0")
        var dValues: [Float] = []
        #expect(reader.read(part: 1, atSequence: d) { dValues = [$0[2], $0[3]] })
        #expect(dValues == [1, 1])
        #expect(!reader.read(part: 0, atSequence: d) { _ in }, "part 0 changed after d")
        #expect(reader.read(part: 0, atSequence: g) { _ in })
        // A write to part 1 while it is read, or after the sequence the reader holds.
        #expect(!reader.read(part: 1, atSequence: g) { _ in writer.publish(parts: [1]) { $0[2] = 3 } })
        #expect(!reader.read(part: 1, atSequence: g) { _ in })
        #expect(reader.read(part: 0, atSequence: g) { _ in })
    }

    @Test func aSegmentThatIsNotTheOneOfferedIsRefused() throws {
        let segment = try SharedSegment.create(role: "test", count: 8)
        defer { segment.unlink() }
        var wrongToken = segment.token
        wrongToken[0] ^= 0xFF
        #expect(throws: WireError.self) { try SharedSegment.open(path: segment.path, token: wrongToken, count: 8) }
        #expect(throws: WireError.self) { try SharedSegment.open(path: segment.path, token: segment.token, count: 9) }
        #expect(throws: WireError.self) { try SharedSegment.open(path: "/etc/passwd", token: segment.token, count: 8) }
        #expect(throws: WireError.self) { try SharedSegment.open(path: "/dev/shm/agon-../../etc/passwd", token: segment.token, count: 8) }
        segment.unlink()
        do {
            _ = try SharedSegment.open(path: segment.path, token: segment.token, count: 8)
            Issue.record("an unlinked segment opened")
        } catch {
            #expect(error.message.hasPrefix(segment.path + ": opening"), "\(error.message)")
        }
    }

    @Test func segmentsOfProcessesThatNoLongerRunAreRemoved() throws {
        // A pid that does not run: a child that has exited and been waited for.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let abandoned = "\(SharedSegment.directory)/agon-sweeptest-\(child.processIdentifier)-000000000000"
        let alive = "\(SharedSegment.directory)/agon-sweeptest-\(getpid())-000000000000"
        for path in [abandoned, alive] { #expect(FileManager.default.createFile(atPath: path, contents: Data([1]))) }
        defer { for path in [abandoned, alive] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(SharedSegment.removeAbandoned(role: "sweeptest") == 1)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: alive))
    }

    @Test func loopbackEndpoints() {
        for endpoint in ["tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:9", "ipc:///tmp/a", "inproc://x"] {
            #expect(WireSocket.isLoopback(endpoint), "\(endpoint)")
        }
        for endpoint in ["tcp://10.0.0.1:5555", "tcp://node-7:5555", "tcp://0.0.0.0:5555"] {
            #expect(!WireSocket.isLoopback(endpoint), "\(endpoint)")
        }
    }
}
