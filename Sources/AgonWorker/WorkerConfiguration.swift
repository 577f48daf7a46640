// What a worker is told: where the coordinator is, its CURVE keys, and how patient to be.
import AgonWire

/// The settings of `agon worker`.
public struct WorkerConfiguration: Sendable {
    /// The coordinator's endpoint (`tcp://HOST:PORT`).
    public var coordinator: String
    /// Overrides the run's data folder (the coordinator's) on this machine.
    public var dataDirectory: String?
    /// CURVE: the coordinator's public key and this worker's key pair (Z85); nil without CURVE.
    public var curve: (serverPublicKey: String, publicKey: String, secretKey: String)?
    /// Heartbeat period, seconds.
    public var heartbeatInterval: Double = 1
    /// Missed heartbeats after which the coordinator counts as gone and the worker reconnects.
    public var liveness: Int = 3
    /// Whether to offer the coordinator a shared-memory lane when it is on this machine (a
    /// loopback or ipc endpoint): gradients and parameters then bypass the socket.
    public var sharedMemory = true
    /// Seconds to wait for a coordinator that is not up yet (nil: for ever), then give up.
    public var connectTimeout: Double?
    /// Seconds to wait for the welcome once the connection is up, then give up with an error
    /// (a coordinator that answers nothing: another protocol version, say).
    public var joinTimeout: Double = 30
    /// Seconds to keep trying to reach a coordinator that went away before giving up.
    public var reconnectTimeout: Double = 300

    public init(coordinator: String) { self.coordinator = coordinator }
}
