// WireConnectionMonitor: what a connecting socket learns of its handshakes from libzmq's
// monitor, so that a worker is told at once why a CURVE coordinator turned it away.

import AgonWire
import Foundation
import Testing

@Suite struct WireConnectionMonitorTests {
    /// A DEALER watched from before it connects to `endpoint`, with CURVE when `keys` are given.
    func watchedClient(_ context: WireContext, _ endpoint: String, serverKey: String?,
                       keys: (publicKey: String, secretKey: String)?) throws -> (WireSocket, WireConnectionMonitor) {
        var options = WireSocket.Options()
        if let keys, let serverKey {
            options.security = .curveClient(serverPublicKey: serverKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
        }
        let client = try WireSocket(context, kind: .dealer, options: options)
        let monitor = try WireConnectionMonitor(client)
        try client.connect(endpoint)
        return (client, monitor)
    }

    /// Polls `condition` every 10 ms for up to 5 s.
    func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }

    @Test func admittedKeyCompletesTheHandshake() throws {
        let context = try WireContext()
        let clientKeys = try Curve.generateKeyPair()
        let handler = try ZAPHandler(context: context, authorizedKeys: [clientKeys.publicKey])
        defer { handler.stop() }
        let server = try CurveServer(context)
        let (client, monitor) = try watchedClient(context, server.endpoint, serverKey: server.keys.publicKey, keys: clientKeys)
        defer { monitor.close(); client.close() }
        #expect(eventually { monitor.hasCompletedHandshake })
        #expect(monitor.handshakeFailure == nil)
        #expect(monitor.isConnected)
    }

    @Test func unknownKeyIsRefusedWithZAPStatus400() throws {
        let context = try WireContext()
        let handler = try ZAPHandler(context: context, authorizedKeys: [try Curve.generateKeyPair().publicKey])
        defer { handler.stop() }
        let server = try CurveServer(context)
        let (client, monitor) = try watchedClient(context, server.endpoint, serverKey: server.keys.publicKey, keys: try Curve.generateKeyPair())
        defer { monitor.close(); client.close() }
        #expect(eventually { monitor.handshakeFailure != nil })
        #expect(monitor.handshakeFailure == .refused(status: 400))
        #expect(!monitor.hasCompletedHandshake)
    }

    @Test func wrongServerKeyIsAHandshakeClosedAgainAndAgain() throws {
        let context = try WireContext()
        let clientKeys = try Curve.generateKeyPair()
        let handler = try ZAPHandler(context: context, authorizedKeys: [clientKeys.publicKey])
        defer { handler.stop() }
        let server = try CurveServer(context)
        let (client, monitor) = try watchedClient(context, server.endpoint, serverKey: try Curve.generateKeyPair().publicKey, keys: clientKeys)
        defer { monitor.close(); client.close() }
        #expect(eventually {
            if case .closed(let count) = monitor.handshakeFailure { return count >= 2 }
            return false
        }, "\(String(describing: monitor.handshakeFailure))")
    }

    @Test func clientWithoutKeysOfACurveServerFailsItsHandshake() throws {
        let context = try WireContext()
        let handler = try ZAPHandler(context: context, authorizedKeys: [try Curve.generateKeyPair().publicKey])
        defer { handler.stop() }
        let server = try CurveServer(context)
        let (client, monitor) = try watchedClient(context, server.endpoint, serverKey: nil, keys: nil)
        defer { monitor.close(); client.close() }
        // The mismatch of mechanisms, or only the server hanging up when its check wins the race.
        #expect(eventually { monitor.handshakeFailure?.isMechanismMismatch == true || monitor.handshakeFailure == .closed(count: 1) })
    }

    @Test func nothingListeningCountsFailedAttemptsAndNoHandshake() throws {
        let context = try WireContext()
        let (client, monitor) = try watchedClient(context, "tcp://127.0.0.1:1", serverKey: nil, keys: nil)
        defer { monitor.close(); client.close() }
        #expect(eventually { monitor.failedAttempts >= 2 })
        #expect(monitor.handshakeFailure == nil)
        #expect(!monitor.isConnected && !monitor.hasCompletedHandshake)
    }
}
