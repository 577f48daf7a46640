// Liveness: the heartbeat (kind 6) both sides send every second when nothing else is sent.
// Its layout is written and read here; docs/PROTOCOL.md draws the bytes.

/// Both ways, kind 6: still alive. Sent every `interval` when no other message went out;
/// a peer silent for `liveness` intervals is taken as gone.
///
/// Header: version, kind 6, `step` (Int64).
public struct Heartbeat: Equatable, Sendable {
    /// Seconds between heartbeats (the ZeroMQ guide's Paranoid Pirate).
    public static let interval: Duration = .seconds(1)
    /// Intervals of silence after which a peer is taken as gone.
    public static let liveness = 3

    /// The sender's current step: the worker's step in progress, the coordinator's next.
    public var step: Int64

    /// A heartbeat at `step`.
    public init(step: Int64) {
        self.step = step
    }

    func encode(into writer: inout WireWriter) {
        writer.write(step)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        step = try reader.readInt64("step")
    }
}
