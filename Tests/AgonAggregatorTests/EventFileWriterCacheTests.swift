// Open TensorBoard files are bounded whatever the number of sources: 1,200 sources through an
// aggregator keep at most `openWriterLimit` files open, and a source whose writer was closed
// continues its own file when it sends again.
@testable import AgonAggregator
import AgonWire
import Foundation
import Testing

@Suite(.serialized) struct EventFileWriterCacheTests {
    @Test("1,200 sources: at most openWriterLimit files open, and a source evicted early appends to its one file")
    func openFilesAreBounded() throws {
        let serving = try AggregatorTests.Serving()
        defer { serving.stop() }
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        defer { socket.close() }
        try socket.connect(serving.aggregator.endpoint)
        for index in 0..<1_200 {
            let ack = try AggregatorTests.exchange(socket, EventBatch(run: "r", source: "s\(index)", events: AggregatorTests.scalars(0...0)))
            #expect(ack.nextSequence == 1, "source \(index) got \(ack)")
        }
        let again = try AggregatorTests.exchange(socket, EventBatch(run: "r", source: "s0", events: AggregatorTests.scalars(1...1)))
        #expect(again.nextSequence == 2)
        serving.stop(removing: false)
        defer { try? FileManager.default.removeItem(atPath: serving.directory) }
        #expect(serving.aggregator.openWriterCount <= Aggregator.openWriterLimit)
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        #expect(fds < 1_000, "\(fds) descriptors open")
        let folder = serving.directory + "/tensorboard/s0"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains("tfevents") }
        #expect(files.count == 1)
        let steps = try readEvents(atPath: folder + "/" + files[0]).compactMap { $0.values == nil ? nil : $0.step }
        #expect(steps == [1, 2], "both events of s0 in its one file")
    }

    @Test func theLeastRecentlyUsedWriterIsClosedAndReopened() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agon-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = EventFileWriterCache(capacity: 2) { try EventFileWriter(directory: directory + "/" + $0, wallTime: 1, host: "h", pid: 1) }
        let a = try cache.writer(for: "a")
        try a.addScalars(step: 1, wallTime: 1, [("x", 1)])
        try a.flush()
        _ = try cache.writer(for: "b")
        _ = try cache.writer(for: "a")   // a is now the most recent
        _ = try cache.writer(for: "c")   // closes b
        #expect(cache.openCount == 2)
        _ = try cache.writer(for: "b")   // reopens b, closes a
        let reopened = try cache.writer(for: "a")
        try reopened.addScalars(step: 2, wallTime: 1, [("x", 2)])
        try reopened.flush()
        #expect(reopened.path == a.path)
        #expect(try readEvents(atPath: a.path).compactMap { $0.values == nil ? nil : $0.step } == [1, 2])
    }
}
