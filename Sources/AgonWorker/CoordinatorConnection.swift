// A worker's link to its coordinator: a DEALER socket, join and welcome, heartbeats both ways,
// and reconnection with backoff (the ZeroMQ guide's Paranoid Pirate) when the coordinator
// falls silent.
import AgonTraining
import AgonWire
import Foundation

/// What the connection hands back to the exchange logic.
enum Incoming {
    case parameters(Parameters)
    /// Parameters whose values are in the coordinator's segment, written at `sequence`.
    case sharedParameters(Parameters, sequence: UInt64)
    /// The coordinator's answer to this worker's shared-memory offer.
    case sharedMemoryAnswer(SharedMemoryAnswer)
    case complete(Complete)
    /// The connection was re-established and the worker joined again.
    case rejoined(Welcome)
    case other
}

final class CoordinatorConnection {
    let configuration: WorkerConfiguration
    let log: (String) -> Void
    let stop: StopFlag
    private let context: WireContext
    private var socket: WireSocket
    /// Whether the socket's connection to the coordinator is up (nil if libzmq cannot say).
    private(set) var monitor: WireConnectionMonitor?
    private let workerID = UUID().uuidString
    let clock = ContinuousClock()
    private var lastHeard: ContinuousClock.Instant
    private var lastSent: ContinuousClock.Instant
    private(set) var welcome: Welcome?

    init(configuration: WorkerConfiguration, stop: StopFlag, log: @escaping (String) -> Void) throws {
        self.configuration = configuration
        self.stop = stop
        self.log = log
        context = try WireContext()
        (socket, monitor) = try CoordinatorConnection.connect(context, configuration)
        lastHeard = clock.now
        lastSent = clock.now
    }

    deinit {
        monitor?.close()   // before the socket it watches
        socket.close()
    }

    /// False once the connection to the coordinator has dropped (its process is gone, say)
    /// and not come back; true while it is up or cannot be watched.
    var coordinatorConnected: Bool { monitor?.isConnected ?? true }

    /// How long a send may wait for a coordinator to take it. A DEALER with no connection
    /// (a coordinator that refused this worker's key, or was never there) blocks a send for
    /// ever; with this it fails with `EAGAIN`, so that every stop ends.
    static let sendTimeoutMilliseconds = 1000

    /// A DEALER connected to the coordinator, and its monitor (nil if libzmq cannot watch it),
    /// started before the connect: a handshake done before the watch began would be missed.
    private static func connect(_ context: WireContext, _ configuration: WorkerConfiguration) throws -> (WireSocket, WireConnectionMonitor?) {
        var options = WireSocket.Options()
        options.sendTimeoutMilliseconds = sendTimeoutMilliseconds
        // libzmq retries a connection that fails (nothing listening, a name that does not
        // resolve yet: it resolves at each attempt), backing off from 100 ms to 2 s.
        options.reconnectIntervalMilliseconds = 100
        options.reconnectIntervalMaximumMilliseconds = 2000
        if let curve = configuration.curve {
            options.security = .curveClient(serverPublicKey: curve.serverPublicKey, publicKey: curve.publicKey, secretKey: curve.secretKey)
        }
        let socket = try WireSocket(context, kind: .dealer, options: options)
        let monitor = try? WireConnectionMonitor(socket)
        try socket.connect(configuration.coordinator)
        return (socket, monitor)
    }

    /// Sends join and waits for the welcome; fails after `timeout` seconds of silence.
    func join(timeout: Double) throws -> Welcome {
        let join = Join(workerID: workerID, host: ProcessInfo.processInfo.hostName, pid: getpid())
        try send(.join(join))
        let deadline = clock.now + .seconds(timeout)
        while clock.now < deadline {
            if stop.isStopped { throw CancellationError() }
            try checkHandshake()
            guard let message = try next(timeoutMilliseconds: 250) else { continue }
            switch message {
            case .welcome(let w):
                welcome = w
                lastHeard = clock.now
                return w
            case .refused(let r):
                throw WorkerError(.refused, "\(configuration.coordinator): the coordinator refused this worker: \(r.reason)")
            default:
                continue
            }
        }
        throw WorkerError(.unreachable, "\(configuration.coordinator): no answer from the coordinator within \(Int(timeout)) s; is it running, and does it admit this worker\(configuration.curve == nil ? " (it may require CURVE keys)" : "'s key")?")
    }

    func send(_ message: WireMessage) throws {
        try socket.send(message)
        lastSent = clock.now
    }

    /// The next message worth acting on; heartbeats are sent and counted here, and a silent
    /// coordinator is reconnected to. Throws `CancellationError` once `leaving()` is true
    /// (checked at least every 250 ms).
    func receive(leaving: () -> Bool) throws -> Incoming {
        while true {
            if leaving() { throw CancellationError() }
            if let message = try next(timeoutMilliseconds: min(250, Int(configuration.heartbeatInterval * 1000))) {
                lastHeard = clock.now
                switch message {
                case .parameters(let p): return .parameters(p)
                case .sharedParameters(let p, let sequence): return .sharedParameters(p, sequence: sequence)
                case .sharedMemoryAnswer(let answer): return .sharedMemoryAnswer(answer)
                case .complete(let c): return .complete(c)
                case .refused(let r):
                    throw WorkerError(.refused, "\(configuration.coordinator): the coordinator refused this worker: \(r.reason)")
                default: break
                }
            }
            let now = clock.now
            if now - lastSent >= .seconds(configuration.heartbeatInterval) {
                _ = monitor?.isConnected   // read it: a monitor that fills up unread stalls the socket
                do {
                    try send(.heartbeat(Heartbeat(step: 0)))
                } catch let error as WireError where error.code == .zmq(EAGAIN) {
                    // No connection takes it: the silence below reconnects.
                }
            }
            if now - lastHeard > .seconds(configuration.heartbeatInterval * Double(configuration.liveness)) {
                return .rejoined(try reconnect())
            }
        }
    }

    /// Reconnects with a fresh socket and joins again, backing off from 1 s to 32 s.
    private func reconnect() throws -> Welcome {
        log("worker: no heartbeat from \(configuration.coordinator) for \(configuration.liveness) s; reconnecting")
        let giveUp = clock.now + .seconds(configuration.reconnectTimeout)
        var backoff = 1.0
        while clock.now < giveUp {
            if stop.isStopped { throw CancellationError() }
            monitor?.close()
            socket.close()
            (socket, monitor) = try CoordinatorConnection.connect(context, configuration)
            do {
                let welcome = try join(timeout: backoff)
                log("worker: rejoined \(configuration.coordinator) as rank \(welcome.rank) at step \(welcome.step)")
                return welcome
            } catch let error as WorkerError where error.code == .unreachable {
                backoff = min(backoff * 2, 32)
            }
        }
        throw WorkerError(.coordinatorGone, "\(configuration.coordinator): the coordinator has been gone for \(Int(configuration.reconnectTimeout)) s; giving up")
    }

    /// Tells the coordinator this worker is leaving (best effort; at most the send timeout). With
    /// no connection up there is no one to tell: the socket closes with LINGER 0 and would
    /// drop the message anyway. `stopped`: the worker was stopped by a signal, not done.
    func leave(_ reason: String, stopped: Bool = false) {
        guard coordinatorConnected else { return }
        try? send(.leave(Leave(reason: reason, stopped: stopped)))
    }

    private func next(timeoutMilliseconds: Int) throws -> WireMessage? {
        let received: [[UInt8]]?
        do {
            received = try socket.receive(timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            guard error.code == .oversized else { throw error }
            log("worker: dropped a message from the coordinator: \(error)")
            return nil
        }
        guard let frames = received else { return nil }
        do {
            return try WireMessage.decode(frames, maxPayloadBytes: 1 << 30)
        } catch {
            log("worker: dropped a message from the coordinator: \(error)")
            return nil
        }
    }
}
