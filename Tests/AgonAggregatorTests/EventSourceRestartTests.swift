// A source started again under the same name: each start is a new incarnation, so its events
// never collide with the earlier start's; what a stopped start left unacknowledged in its spool
// folder is sent by the next one, first; and an acknowledgement from a stale aggregator that
// claims more than was sent does not break the source.
@testable import AgonAggregator
import AgonRunStore
import AgonWire
import Foundation
import Testing

@Suite(.serialized) struct EventSourceRestartTests {
    typealias Serving = AggregatorTests.Serving

    static func scalars(_ source: EventSource, steps: Range<Int>) throws {
        for step in steps { try source.record(step: Int64(step), .scalars([WireScalar(tag: "g_loss", value: Double(step))])) }
    }

    @Test("a second start under the same name continues the series; nothing of either is dropped")
    func sameNameTwiceStoresBoth() throws {
        let serving = try Serving()
        defer { serving.stop() }
        let context = try WireContext()
        var incarnations: [Int64] = []
        for run in 0..<2 {
            let source = try EventSource(context: context, endpoint: serving.aggregator.endpoint, run: "", source: "coordinator", log: { _ in })
            try Self.scalars(source, steps: (run * 1000)..<(run * 1000 + 1000))
            #expect(try source.drain(timeout: 30))
            incarnations.append(source.incarnation)
        }
        #expect(incarnations[1] > incarnations[0])
        let store = try RunStore(path: serving.directory + "/run.db", readOnly: true)
        #expect(try store.scalars(tag: "g_loss", worker: "coordinator").steps == Array(0..<2000))
        for incarnation in incarnations { #expect(try store.nextSequence(worker: "coordinator", incarnation: incarnation) == 1000) }
    }

    @Test("events a stopped start could not deliver are kept in its spool folder and sent first by the next start")
    func spoolOutlivesTheProcess() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agon-spool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let context = try WireContext()
        // No aggregator yet: a port nobody listens on (bound, then released).
        let probe = try WireSocket(context, kind: .router)
        let endpoint = try probe.bind("tcp://127.0.0.1:*")
        probe.close()
        var lines: [String] = []
        var first: EventSource? = try EventSource(context: context, endpoint: endpoint, run: "", source: "worker-0",
                                                  spoolDirectory: folder, log: { lines.append($0) })
        try Self.scalars(first!, steps: 0..<300)
        #expect(try first!.drain(timeout: 0.3) == false)
        let earlier = first!.incarnation
        first = nil   // the process ends: its lock on the spool file goes
        #expect(lines.last?.contains("300 event(s) not yet acknowledged by the aggregator are kept in \(folder)") == true, "\(lines)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["worker-0.\(earlier).spool"])

        var configuration = AggregatorConfiguration(bind: endpoint, runDirectory: folder + "/run")
        configuration.renderInterval = 3600
        let serving = try Serving(configuration: configuration)
        defer { serving.stop() }
        let second = try EventSource(context: context, endpoint: endpoint, run: "", source: "worker-0", spoolDirectory: folder, log: { _ in })
        try Self.scalars(second, steps: 300..<400)
        #expect(try second.drain(timeout: 30))
        let store = try RunStore(path: folder + "/run/run.db", readOnly: true)
        #expect(try store.scalars(tag: "g_loss", worker: "worker-0").steps == Array(0..<400), "the first start's 300 and the second's 100")
        #expect(try store.nextSequence(worker: "worker-0", incarnation: earlier) == 300)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["run"], "delivered spools are removed")
    }

    @Test("an acknowledgement beyond what was sent (a stale aggregator) neither traps nor loses later events")
    func staleAcknowledgementIsHarmless() throws {
        let context = try WireContext()
        let router = try WireSocket(context, kind: .router)
        defer { router.close() }
        let endpoint = try router.bind("tcp://127.0.0.1:*")
        let source = try EventSource(context: context, endpoint: endpoint, run: "", source: "coordinator", log: { _ in })
        try Self.scalars(source, steps: 0..<10)
        try source.send()
        let frames = try #require(try router.receive(timeoutMilliseconds: 5000))
        guard case .events(let batch) = try WireMessage.decode(Array(frames.dropFirst())) else { Issue.record("not events"); return }
        #expect(batch.events.count == 10 && batch.incarnation == source.incarnation)
        // The old coordinator bug: an aggregator holding 5,000 events of this name said so.
        try router.send(.eventAck(EventAck(source: "coordinator", incarnation: source.incarnation, nextSequence: 5000, receivedThrough: 10)), to: frames[0])
        try source.pump(timeoutMilliseconds: 2000)
        #expect(source.pending == 0)
        try Self.scalars(source, steps: 10..<20)
        try source.send()
        let next = try #require(try router.receive(timeoutMilliseconds: 5000))
        guard case .events(let more) = try WireMessage.decode(Array(next.dropFirst())) else { Issue.record("not events"); return }
        #expect(more.events.map(\.seq) == Array(10..<20))
    }
}
