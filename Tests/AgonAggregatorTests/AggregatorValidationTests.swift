// Hostile events on the aggregator: every field is checked before an event is acknowledged, an
// event out of range is refused with a reason the source reads, a batch that cannot be decoded
// whole is still answered, and rows an older build stored are skipped on replay, not died on.
@testable import AgonAggregator
import AgonRunStore
@testable import AgonWire
import Foundation
import Testing

@Suite(.serialized) struct AggregatorValidationTests {
    typealias Serving = AggregatorTests.Serving

    static func connect(_ serving: Serving) throws -> (WireContext, WireSocket) {
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        try socket.connect(serving.aggregator.endpoint)
        return (context, socket)
    }

    static func scalar(_ seq: Int64, step: Int64) -> WireEvent {
        WireEvent(seq: seq, step: step, wallTime: 1, payload: .scalars([WireScalar(tag: "g_loss", value: 1)]))
    }

    @Test("a 0×0 image and a step at Int64.max are refused with a reason; their seqs are answered and the service goes on")
    func outOfRangeEventsAreRefused() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let (context, socket) = try Self.connect(serving)
        defer { socket.close(); withExtendedLifetime(context) {} }
        let batch = EventBatch(run: "r", source: "w", events: [
            Self.scalar(0, step: 1),
            WireEvent(seq: 1, step: 1, wallTime: 1, payload: .image(tag: "samples", width: 0, height: 0, png: [1, 2, 3])),
            Self.scalar(2, step: .max),
            Self.scalar(3, step: 2),
        ])
        let ack = try AggregatorTests.exchange(socket, batch)
        #expect(ack.nextSequence == 4 && ack.receivedThrough == 4)
        #expect(ack.refused == 2)
        #expect(ack.reason.contains("0×0"), "\(ack.reason)")
        // The idle flush to TensorBoard has run by the time the next batch is answered.
        Thread.sleep(forTimeInterval: 0.3)
        let next = try AggregatorTests.exchange(socket, EventBatch(run: "r", source: "w", events: [Self.scalar(4, step: 3)]))
        #expect(next.nextSequence == 5 && next.refused == 0)
        let store = try RunStore(path: serving.directory + "/run.db", readOnly: true)
        #expect(try store.scalars(tag: "g_loss", worker: "w").steps == [1, 2, 3])
        #expect(try store.images(tag: nil).isEmpty)
    }

    @Test("a resent batch is answered with the same refusals")
    func refusalsAreAnsweredAgain() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let (context, socket) = try Self.connect(serving)
        defer { socket.close(); withExtendedLifetime(context) {} }
        let batch = EventBatch(run: "r", source: "w", events: [Self.scalar(0, step: -1), Self.scalar(1, step: 1)])
        let first = try AggregatorTests.exchange(socket, batch)
        let again = try AggregatorTests.exchange(socket, batch)
        #expect(first.refused == 1 && again == first)
    }

    @Test("an empty source name is refused, not stored")
    func emptySourceIsRefused() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let (context, socket) = try Self.connect(serving)
        defer { socket.close(); withExtendedLifetime(context) {} }
        let ack = try AggregatorTests.exchange(socket, EventBatch(run: "r", source: "", events: AggregatorTests.scalars(0...2)))
        #expect(ack.source == "" && ack.refused == 3, "\(ack)")
        #expect(ack.reason.contains("source"), "\(ack.reason)")
        #expect(try RunStore(path: serving.directory + "/run.db", readOnly: true).scalarCount() == 0)
    }

    @Test("a batch with seq -5 or Int64.max cannot be decoded whole, and is answered as refused")
    func undecodableBatchIsAnswered() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let (context, socket) = try Self.connect(serving)
        defer { socket.close(); withExtendedLifetime(context) {} }
        for seq in [Int64(-5), .max] {
            let frames = WireMessage.events(EventBatch(run: "r", source: "liar", incarnation: 7, events: [Self.scalar(0, step: 1), Self.scalar(seq, step: 1)])).encoded()
            try socket.send(frames: frames)
            let reply = try #require(try socket.receive(timeoutMilliseconds: 5_000), "no answer to a batch with seq \(seq)")
            guard case .eventAck(let ack) = try WireMessage.decode(reply) else { Issue.record("not an ack"); return }
            #expect(ack.source == "liar" && ack.incarnation == 7 && ack.refused == 2, "\(ack)")
            #expect(ack.reason.contains("seq \(seq)"), "\(ack.reason)")
            #expect(ack.nextSequence == 0 && ack.receivedThrough == 0, "nothing stored, no resend asked for")
        }
    }

    @Test("run.db rows an older build stored out of range (a 0×0 image, a step at Int64.max) are skipped on replay and reported")
    func storedBadRowsAreSkipped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agon-badrows-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RunStore(path: directory + "/run.db")
        try store.append([
            RunEvent(worker: "w", seq: 0, step: 1, wallTime: 1, payload: .scalars([ScalarValue(tag: "g_loss", value: 1)])),
            RunEvent(worker: "w", seq: 1, step: 1, wallTime: 1, payload: .image(tag: "samples", width: 0, height: 0, png: [1, 2, 3])),
            RunEvent(worker: "w", seq: 2, step: .max, wallTime: 1, payload: .scalars([ScalarValue(tag: "g_loss", value: 2)])),
            RunEvent(worker: "w", seq: 3, step: 2, wallTime: 1, payload: .scalars([ScalarValue(tag: "g_loss", value: 3)])),
            RunEvent(worker: "v", seq: 0, step: -4, wallTime: 1, payload: .scalars([ScalarValue(tag: "d_loss", value: 3)])),
        ])
        let lines = Lines()
        var configuration = AggregatorConfiguration(bind: "tcp://127.0.0.1:*", runDirectory: directory)
        configuration.renderInterval = 3600
        let aggregator = try Aggregator(configuration: configuration, log: { lines.append($0) })
        aggregator.render(live: false)
        let log = lines.all.joined(separator: "\n")
        #expect(log.contains("skipped"), "\(log)")
        let folder = directory + "/tensorboard/w"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains("tfevents") }
        let steps = try files.flatMap { try readEvents(atPath: folder + "/" + $0) }.compactMap { $0.values == nil ? nil : $0.step }
        #expect(steps == [1, 2], "the good scalars reach TensorBoard, the bad rows do not")
    }
}

/// Log lines gathered from any thread.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
