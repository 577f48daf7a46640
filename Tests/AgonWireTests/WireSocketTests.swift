// WireSocket and WirePoller: ROUTER/DEALER exchanges over inproc and TCP, the frame and size
// limits, and the errors for an unknown peer, a port in use and a closed socket.

import AgonWire
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh inproc endpoint, so that tests running in parallel never share one.
func uniqueInprocEndpoint(_ name: String) -> String {
    "inproc://\(name)-\(UInt64.random(in: 0...UInt64.max))"
}

/// Receives one message on `socket` within `timeout` ms, or records an issue.
func receiveMessage(_ socket: WireSocket, timeout: Int = 2_000) throws -> (peer: [UInt8]?, message: WireMessage)? {
    guard let frames = try socket.receive(timeoutMilliseconds: timeout) else {
        Issue.record("nothing arrived on \(socket) within \(timeout) ms")
        return nil
    }
    if socket.kind == .router {
        return (frames[0], try WireMessage.decode(Array(frames.dropFirst())))
    }
    return (nil, try WireMessage.decode(frames))
}

@Suite struct WireSocketTests {
    @Test func routerDealerOverInproc() throws {
        let context = try WireContext()
        let router = try WireSocket(context, kind: .router, options: .init(routerMandatory: true))
        let endpoint = try router.bind(uniqueInprocEndpoint("exchange"))
        let dealer = try WireSocket(context, kind: .dealer, options: .init(routingID: Array("worker-1".utf8)))
        try dealer.connect(endpoint)

        let join = WireMessage.join(.init(workerID: "worker-1", host: "localhost", pid: 7))
        try dealer.send(join)
        let received = try #require(try receiveMessage(router))
        #expect(received.peer == Array("worker-1".utf8))
        #expect(received.message == join)

        let welcome = WireMessage.welcome(.init(rank: 0, world: 1, step: 0, configuration: "{}"))
        try router.send(welcome, to: received.peer)
        #expect(try receiveMessage(dealer)?.message == welcome)
    }

    @Test func routerDealerOverTCPWithBigPayloads() throws {
        let context = try WireContext()
        let router = try WireSocket(context, kind: .router, options: .init(routerMandatory: true))
        let endpoint = try router.bind("tcp://127.0.0.1:*")
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*") && !endpoint.hasSuffix(":0"))
        let dealer = try WireSocket(context, kind: .dealer)
        try dealer.connect(endpoint)

        let values = (0..<2_500_000).map { Float($0 % 1_000) / 7 }
        let gradients = WireMessage.gradients(.init(step: 5, phase: WireMessage.Phase.both, rank: 0, generatorLoss: 0.7,
                                                    discriminatorLoss: 1.4, values: values))
        try dealer.send(gradients)
        let received = try #require(try receiveMessage(router))
        #expect(received.message == gradients)

        let parameters = WireMessage.parameters(.init(step: 6, phase: WireMessage.Phase.both, rank: 0, world: 1, epoch: 0,
                                                      epochStart: 0, values: values))
        try router.send(parameters, to: received.peer)
        #expect(try receiveMessage(dealer)?.message == parameters)
    }

    @Test func floatFrameVariantSendsLittleEndianBytes() throws {
        let context = try WireContext()
        let pull = try WireSocket(context, kind: .pull)
        let endpoint = try pull.bind(uniqueInprocEndpoint("floats"))
        let push = try WireSocket(context, kind: .push)
        try push.connect(endpoint)
        try [Float(1.0), -2.0].withUnsafeBufferPointer { try push.send(frames: [[0xAA]], floats: $0) }
        let frames = try pull.receive(timeoutMilliseconds: 2_000)
        #expect(frames == [[0xAA], [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]])
    }

    @Test func mandatoryRouterFailsForUnknownPeer() throws {
        let context = try WireContext()
        let router = try WireSocket(context, kind: .router, options: .init(routerMandatory: true))
        try router.bind(uniqueInprocEndpoint("mandatory"))
        let error = #expect(throws: WireError.self) {
            try router.send(.heartbeat(.init(step: 1)), to: Array("nobody".utf8))
        }
        #expect(error?.code == .zmq(EHOSTUNREACH))
        #expect(error?.message.contains("\"nobody\"") == true)
        #expect(error?.message.hasSuffix("host unreachable") == true)
    }

    @Test func bindingAPortInUseNamesTheEndpoint() throws {
        let context = try WireContext()
        let first = try WireSocket(context, kind: .router)
        let endpoint = try first.bind("tcp://127.0.0.1:*")
        let second = try WireSocket(context, kind: .router)
        let error = #expect(throws: WireError.self) { try second.bind(endpoint) }
        #expect(error?.code == .zmq(EADDRINUSE))
        #expect(error?.message == "\(endpoint): address already in use")
    }

    @Test func malformedEndpointIsAnError() throws {
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        let error = #expect(throws: WireError.self) { try socket.connect("carrier-pigeon://coop") }
        #expect(error?.message.hasPrefix("carrier-pigeon://coop: ") == true)
    }

    @Test func receiveTimesOutWithNil() throws {
        let context = try WireContext()
        let pull = try WireSocket(context, kind: .pull)
        try pull.bind(uniqueInprocEndpoint("quiet"))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try pull.receive(timeoutMilliseconds: 50) == nil)
        #expect(clock.now - start < .seconds(1))
        #expect(try pull.receive(timeoutMilliseconds: 0) == nil)
    }

    @Test func pollerReportsTheReadableSocket() throws {
        let context = try WireContext()
        let quiet = try WireSocket(context, kind: .pull)
        try quiet.bind(uniqueInprocEndpoint("quiet"))
        let busy = try WireSocket(context, kind: .pull)
        let endpoint = try busy.bind(uniqueInprocEndpoint("busy"))
        let push = try WireSocket(context, kind: .push)
        try push.connect(endpoint)
        let poller = WirePoller([quiet, busy])
        #expect(try poller.poll(timeoutMilliseconds: 0) == [])
        try push.send(frames: [[1, 2, 3]])
        #expect(try poller.poll(timeoutMilliseconds: 2_000) == [1])
        #expect(try busy.receive(timeoutMilliseconds: 0) == [[1, 2, 3]])
    }

    @Test func tooManyFramesAreDroppedWhole() throws {
        let context = try WireContext()
        let pull = try WireSocket(context, kind: .pull, options: .init(maximumFrames: 3))
        let endpoint = try pull.bind(uniqueInprocEndpoint("frames"))
        let push = try WireSocket(context, kind: .push)
        try push.connect(endpoint)
        try push.send(frames: [[1], [2], [3], [4], [5]])
        try push.send(frames: [[6], [7]])
        let error = #expect(throws: WireError.self) { try pull.receive(timeoutMilliseconds: 2_000) }
        #expect(error?.code == .oversized)
        #expect(try pull.receive(timeoutMilliseconds: 2_000) == [[6], [7]])
    }

    @Test func framesOverTheSizeLimitNeverArrive() throws {
        let context = try WireContext()
        let router = try WireSocket(context, kind: .router, options: .init(maximumMessageBytes: 64))
        let endpoint = try router.bind("tcp://127.0.0.1:*")
        let dealer = try WireSocket(context, kind: .dealer)
        try dealer.connect(endpoint)
        try dealer.send(frames: [[UInt8](repeating: 7, count: 65)])
        #expect(try router.receive(timeoutMilliseconds: 300) == nil)
    }

    @Test func closedSocketThrows() throws {
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .push)
        socket.close()
        socket.close()
        let error = #expect(throws: WireError.self) { try socket.send(frames: [[1]]) }
        #expect(error?.code == .zmq(ENOTSOCK))
        #expect(throws: WireError.self) { try socket.bind(uniqueInprocEndpoint("closed")) }
    }

    @Test func invalidOptionIsAnError() throws {
        let context = try WireContext()
        let error = #expect(throws: WireError.self) {
            _ = try WireSocket(context, kind: .dealer, options: .init(routingID: []))
        }
        #expect(error?.message.contains("ZMQ_ROUTING_ID") == true)
    }

    @Test func peerNamesAreReadable() {
        #expect(WireSocket.describePeer(Array("worker-1".utf8)) == "\"worker-1\"")
        #expect(WireSocket.describePeer([0x00, 0x6B, 0x8B, 0x45, 0x67]) == "0x006b8b4567")
    }
}
