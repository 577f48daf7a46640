// The aggregator in process, over loopback TCP: a batch is stored before its acknowledgement,
// a resent batch changes nothing, a gap is answered with the first missing sequence number,
// and garbage is dropped while the next good batch is stored.
@testable import AgonAggregator
import AgonRunStore
import AgonWire
import CSQLite3
import Foundation
import Testing

@Suite(.serialized) struct AggregatorTests {
    /// An aggregator serving on its own thread in a temporary run folder.
    final class Serving: @unchecked Sendable {
        let directory: String
        let aggregator: Aggregator
        private let flag = Flag()
        private let thread: Thread

        final class Flag: @unchecked Sendable {
            private let lock = NSLock()
            private var value = false
            var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
            func set() { lock.lock(); value = true; lock.unlock() }
        }

        convenience init() throws {
            var configuration = AggregatorConfiguration(
                bind: "tcp://127.0.0.1:*",
                runDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("agon-aggregator-\(UUID().uuidString)").path)
            configuration.renderInterval = 3600
            try self.init(configuration: configuration)
        }

        init(configuration: AggregatorConfiguration) throws {
            directory = configuration.runDirectory
            aggregator = try Aggregator(configuration: configuration, log: { _ in })
            let aggregator = self.aggregator, flag = self.flag
            thread = Thread { try? aggregator.run { flag.isSet } }
            thread.start()
        }

        /// Stops serving and waits for the thread; removes the folder unless told not to.
        func stop(removing: Bool = true) {
            flag.set()
            while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
            if removing { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    static func scalars(_ seqs: ClosedRange<Int64>) -> [WireEvent] {
        seqs.map { WireEvent(seq: $0, step: $0 + 1, wallTime: 1, payload: .scalars([WireScalar(tag: "g_loss", value: Double($0))])) }
    }

    /// Sends one batch from a raw DEALER and returns the acknowledgement.
    static func exchange(_ socket: WireSocket, _ batch: EventBatch) throws -> EventAck {
        try socket.send(.events(batch))
        guard let frames = try socket.receive(timeoutMilliseconds: 10_000), case .eventAck(let ack) = try WireMessage.decode(frames) else {
            throw WireError(.malformed, "no acknowledgement")
        }
        return ack
    }

    @Test func storesAcknowledgesIgnoresDuplicatesAndReportsGaps() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        defer { socket.close() }
        try socket.connect(serving.aggregator.endpoint)

        let first = try Self.exchange(socket, EventBatch(run: "r", source: "w", events: Self.scalars(0...9)))
        #expect(first == EventAck(source: "w", nextSequence: 10, receivedThrough: 10))
        let again = try Self.exchange(socket, EventBatch(run: "r", source: "w", events: Self.scalars(5...9)))
        #expect(again == EventAck(source: "w", nextSequence: 10, receivedThrough: 10), "a resent batch changes nothing")
        let gap = try Self.exchange(socket, EventBatch(run: "r", source: "w", events: Self.scalars(20...21)))
        #expect(gap == EventAck(source: "w", nextSequence: 10, receivedThrough: 22), "the first missing seq is 10")
        let filled = try Self.exchange(socket, EventBatch(run: "r", source: "w", events: Self.scalars(10...19)))
        #expect(filled.nextSequence == 22)

        let store = try RunStore(path: serving.directory + "/run.db", readOnly: true)
        let series = try store.scalars(tag: "g_loss", worker: "w")
        #expect(series.steps == Array(1...22), "every event once, in step order")
    }

    @Test func garbageIsDroppedAndServiceGoesOn() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        defer { socket.close() }
        try socket.connect(serving.aggregator.endpoint)
        try socket.send(frames: [[2, 9, 0xFF, 0xFF, 0xFF, 0x7F]])        // events with a lying length
        try socket.send(frames: [[7, 7, 7]])                              // another protocol version
        try socket.send(frames: [[2, 10] + [UInt8](repeating: 0, count: 36)])   // an ack, not for it
        let ack = try Self.exchange(socket, EventBatch(run: "r", source: "v", events: Self.scalars(0...2)))
        #expect(ack.nextSequence == 3)
    }

    @Test func anEventSourceDrainsIntoTheStore() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let context = try WireContext()
        let source = try EventSource(context: context, endpoint: serving.aggregator.endpoint, run: "r", source: "s", log: { _ in })
        for step in 0..<5_000 {
            try source.record(step: Int64(step), .scalars([WireScalar(tag: "a", value: Double(step)), WireScalar(tag: "b", value: 1)]))
        }
        #expect(try source.drain(timeout: 30))
        #expect(source.pending == 0)
        let store = try RunStore(path: serving.directory + "/run.db", readOnly: true)
        #expect(try store.scalarCount() == 10_000)
        #expect(try store.nextSequence(worker: "s", incarnation: source.incarnation) == 5_000)
    }

    @Test("a write that fails keeps the batch, sends no acknowledgement, and stores it once the store works again")
    func failedWriteIsKeptForRetry() throws {
        let serving = try Serving()
        defer { serving.stop() }
        // Another connection holds the write lock past the store's 5-second busy timeout.
        var blocker: OpaquePointer?
        #expect(sqlite3_open(serving.directory + "/run.db", &blocker) == SQLITE_OK)
        defer { sqlite3_close(blocker) }
        #expect(sqlite3_exec(blocker, "BEGIN EXCLUSIVE", nil, nil, nil) == SQLITE_OK)

        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        defer { socket.close() }
        try socket.connect(serving.aggregator.endpoint)
        try socket.send(.events(EventBatch(run: "r", source: "w", events: Self.scalars(0...4))))
        #expect(try socket.receive(timeoutMilliseconds: 6_000) == nil, "no acknowledgement while the batch is not stored")

        #expect(sqlite3_exec(blocker, "COMMIT", nil, nil, nil) == SQLITE_OK)
        guard let frames = try socket.receive(timeoutMilliseconds: 15_000), case .eventAck(let ack) = try WireMessage.decode(frames) else {
            Issue.record("the batch was not acknowledged after the store came back")
            return
        }
        #expect(ack.nextSequence == 5)
        #expect(try RunStore(path: serving.directory + "/run.db", readOnly: true).scalarCount() == 5)
    }

    @Test("what run.db holds but the TensorBoard files do not (a killed aggregator) is written when it starts again")
    func tensorBoardCatchesUpFromTheStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agon-replay-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Stored and acknowledged, never written to TensorBoard: as if killed before the idle flush.
        let store = try RunStore(path: directory + "/run.db")
        try store.append((0..<30).map { RunEvent(worker: "w", seq: $0, step: $0 + 1, wallTime: 1, payload: .scalars([ScalarValue(tag: "g_loss", value: Double($0))])) })
        var configuration = AggregatorConfiguration(bind: "tcp://127.0.0.1:*", runDirectory: directory)
        configuration.renderInterval = 3600
        _ = try Aggregator(configuration: configuration, log: { _ in })
        let folder = directory + "/tensorboard/w"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains("tfevents") }
        let events = try files.flatMap { try readEvents(atPath: folder + "/" + $0) }
        let steps = events.compactMap { $0.values == nil ? nil : $0.step }
        #expect(steps == Array(1...30), "every stored step once, in order")
        #expect(try store.meta("tensorboard_through/w") == "30")
    }
}
