// An event source the aggregator turns away (a CURVE key it does not admit, no keys against a
// CURVE aggregator) says so once, and keeps its events: a refused source never stops training.

import AgonWire
import Foundation
import Testing

@Suite struct EventSourceRefusalTests {
    /// Records an event every 10 ms or so, pumping, for up to 5 s or until `log` has a line.
    func linesWhileRecording(_ source: EventSource, _ log: RefusalLog) throws -> [String] {
        for step in 0..<500 where log.all.isEmpty {
            try source.record(step: Int64(step), .scalars([WireScalar(tag: "g_loss", value: 1)]))
            try source.pump(timeoutMilliseconds: 10)
        }
        Thread.sleep(forTimeInterval: 0.3)   // and no second line after it
        try source.pump(timeoutMilliseconds: 0)
        return log.all
    }

    @Test("a key the aggregator does not admit: one line naming the aggregator and why, the events kept")
    func unknownKey() throws {
        let context = try WireContext()
        let handler = try ZAPHandler(context: context, authorizedKeys: [try Curve.generateKeyPair().publicKey])
        defer { handler.stop() }
        let server = try CurveServer(context)
        let keys = try Curve.generateKeyPair()
        let log = RefusalLog()
        let source = try EventSource(context: context, endpoint: server.endpoint, run: "", source: "worker-0",
                                     security: .curveClient(serverPublicKey: server.keys.publicKey, publicKey: keys.publicKey, secretKey: keys.secretKey),
                                     log: log.append)
        let lines = try linesWhileRecording(source, log)
        #expect(lines == ["worker-0: the aggregator at \(server.endpoint) refuses this source: it does not admit this source's key (ZAP status 400); add it to the aggregator's authorized keys; events wait in the spool"])
        #expect(source.pending > 0)
    }

    @Test("no keys against a CURVE aggregator: one line saying it requires them")
    func noKeys() throws {
        let context = try WireContext()
        let handler = try ZAPHandler(context: context, authorizedKeys: [try Curve.generateKeyPair().publicKey])
        defer { handler.stop() }
        let server = try CurveServer(context)
        let log = RefusalLog()
        let source = try EventSource(context: context, endpoint: server.endpoint, run: "", source: "coordinator", log: log.append)
        let lines = try linesWhileRecording(source, log)
        #expect(lines == ["coordinator: the aggregator at \(server.endpoint) refuses this source: it requires CURVE keys and this source has none; events wait in the spool"])
    }
}
