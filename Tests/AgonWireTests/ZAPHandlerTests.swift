// ZAPHandler with CURVE servers over TCP: an authorized client is heard, an unknown key or a
// plain client is not (and the refusal is reported), and a server can demand a handler.

import AgonWire
import Foundation
import Testing

/// Collects the handler's refusal lines from its thread.
final class RefusalLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }

    /// Waits, polling every 10 ms for at most `timeout`, until a line has arrived.
    func waitForLine(timeout: Duration = .seconds(2)) -> [String] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while all.isEmpty && clock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return all
    }
}

/// A CURVE server ROUTER on a free loopback port, its keys, and its endpoint.
struct CurveServer {
    let keys: (publicKey: String, secretKey: String)
    let socket: WireSocket
    let endpoint: String

    init(_ context: WireContext, requiresZAPHandler: Bool = false) throws {
        keys = try Curve.generateKeyPair()
        socket = try WireSocket(context, kind: .router, options: .init(
            security: .curveServer(secretKey: keys.secretKey), requiresZAPHandler: requiresZAPHandler))
        endpoint = try socket.bind("tcp://127.0.0.1:*")
    }

    /// A DEALER client connected with `clientKeys`, or without CURVE if nil.
    func client(_ context: WireContext, keys clientKeys: (publicKey: String, secretKey: String)?) throws -> WireSocket {
        let security: WireSocket.Security = clientKeys.map {
            .curveClient(serverPublicKey: keys.publicKey, publicKey: $0.publicKey, secretKey: $0.secretKey)
        } ?? .none
        let client = try WireSocket(context, kind: .dealer, options: .init(security: security))
        try client.connect(endpoint)
        return client
    }
}

@Suite struct ZAPHandlerTests {
    @Test func authorizedClientIsHeardAndAnswered() throws {
        let context = try WireContext()
        let clientKeys = try Curve.generateKeyPair()
        let log = RefusalLog()
        let handler = try ZAPHandler(context: context, authorizedKeys: [clientKeys.publicKey], onRefusal: log.append)
        defer { handler.stop() }
        let server = try CurveServer(context)
        let client = try server.client(context, keys: clientKeys)

        try client.send(.join(.init(workerID: "w", host: "h", pid: 1)))
        let received = try #require(try receiveMessage(server.socket))
        #expect(received.message == .join(.init(workerID: "w", host: "h", pid: 1)))
        try server.socket.send(.heartbeat(.init(step: 3)), to: received.peer)
        #expect(try receiveMessage(client)?.message == .heartbeat(.init(step: 3)))
        #expect(log.all.isEmpty)
    }

    @Test func unknownKeyGetsNothingThroughAndIsReported() throws {
        let context = try WireContext()
        let authorized = try Curve.generateKeyPair()
        let stranger = try Curve.generateKeyPair()
        let log = RefusalLog()
        let handler = try ZAPHandler(context: context, authorizedKeys: [authorized.publicKey], onRefusal: log.append)
        defer { handler.stop() }
        let server = try CurveServer(context)
        let client = try server.client(context, keys: stranger)

        try client.send(.heartbeat(.init(step: 1)))
        #expect(try server.socket.receive(timeoutMilliseconds: 500) == nil)
        let lines = log.waitForLine()
        #expect(lines.contains { $0.contains(stranger.publicKey) && $0.contains("not authorized") }, "\(lines)")
    }

    @Test func plainClientGetsNothingThrough() throws {
        let context = try WireContext()
        let handler = try ZAPHandler(context: context, authorizedKeys: [])
        defer { handler.stop() }
        let server = try CurveServer(context)
        let client = try server.client(context, keys: nil)
        try client.send(.heartbeat(.init(step: 1)))
        #expect(try server.socket.receive(timeoutMilliseconds: 500) == nil)
    }

    @Test func replacedKeysApplyToNewHandshakes() throws {
        let context = try WireContext()
        let clientKeys = try Curve.generateKeyPair()
        let handler = try ZAPHandler(context: context, authorizedKeys: [])
        defer { handler.stop() }
        try handler.replaceAuthorizedKeys([clientKeys.publicKey])
        #expect(handler.authorizedKeys == [clientKeys.publicKey])
        let server = try CurveServer(context)
        let client = try server.client(context, keys: clientKeys)
        try client.send(.heartbeat(.init(step: 2)))
        #expect(try receiveMessage(server.socket)?.message == .heartbeat(.init(step: 2)))
        #expect(throws: WireError.self) { try handler.replaceAuthorizedKeys(["not a key"]) }
    }

    @Test func serverRequiringAHandlerRefusesAllWithoutOne() throws {
        let context = try WireContext()
        let server = try CurveServer(context, requiresZAPHandler: true)
        let client = try server.client(context, keys: try Curve.generateKeyPair())
        try client.send(.heartbeat(.init(step: 1)))
        #expect(try server.socket.receive(timeoutMilliseconds: 500) == nil)
    }

    @Test func serverRequiringAHandlerStillAsksIt() throws {
        let context = try WireContext()
        let authorized = try Curve.generateKeyPair()
        let stranger = try Curve.generateKeyPair()
        let handler = try ZAPHandler(context: context, authorizedKeys: [authorized.publicKey])
        defer { handler.stop() }
        let server = try CurveServer(context, requiresZAPHandler: true)
        let strangerClient = try server.client(context, keys: stranger)
        try strangerClient.send(.heartbeat(.init(step: 1)))
        let client = try server.client(context, keys: authorized)
        try client.send(.heartbeat(.init(step: 2)))
        #expect(try receiveMessage(server.socket)?.message == .heartbeat(.init(step: 2)))
        #expect(try server.socket.receive(timeoutMilliseconds: 300) == nil)
    }

    @Test func serverWithoutHandlerAdmitsAnyCurveClient() throws {
        // libzmq's default, documented in docs/PROTOCOL.md: why the handler must run first.
        let context = try WireContext()
        let server = try CurveServer(context)
        let client = try server.client(context, keys: try Curve.generateKeyPair())
        try client.send(.heartbeat(.init(step: 1)))
        #expect(try receiveMessage(server.socket)?.message == .heartbeat(.init(step: 1)))
    }

    @Test func stoppedHandlerFreesTheEndpoint() throws {
        let context = try WireContext()
        let first = try ZAPHandler(context: context, authorizedKeys: [])
        let error = #expect(throws: WireError.self) { _ = try ZAPHandler(context: context, authorizedKeys: []) }
        #expect(error?.message == "inproc://zeromq.zap.01: address already in use")
        first.stop()
        first.stop()
        let second = try ZAPHandler(context: context, authorizedKeys: [])
        second.stop()
    }

    @Test func invalidAuthorizedKeyIsAnError() throws {
        let context = try WireContext()
        let error = #expect(throws: WireError.self) { _ = try ZAPHandler(context: context, authorizedKeys: ["abc"]) }
        #expect(error?.code == .invalidKey)
    }
}
