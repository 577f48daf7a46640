// The shared-memory lane's messages: a worker offers its gradient segment (kind 11), the
// coordinator answers with its parameter segment or a reason (12), and from then on gradients
// (13) and parameters (14) travel as headers whose values are in the segments. Each layout is
// written and read here; docs/PROTOCOL.md ("The shared-memory lane") draws the bytes.

/// Worker → coordinator, kind 11: "my gradients can be read from this segment".
///
/// Header: version, kind 11, `path` (string), `token` (bytes, 16), `count` (Int64).
public struct SharedMemoryOffer: Equatable, Sendable {
    /// The worker's segment, `/dev/shm/agon-worker-…`.
    public var path: String
    /// The random token in the segment's header.
    public var token: [UInt8]
    /// Float32 values the segment holds: every parameter of both networks.
    public var count: Int64

    /// An offer of the segment at `path` with `token`, holding `count` values.
    public init(path: String, token: [UInt8], count: Int64) {
        self.path = path
        self.token = token
        self.count = count
    }

    func encode(into writer: inout WireWriter) {
        writer.write(path)
        writer.write(bytes: token)
        writer.write(count)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        path = try reader.readString("path")
        token = try reader.readBytes("token")
        guard token.count == 16 else { throw WireError(.malformed, "sharedMemoryOffer header: token of \(token.count) bytes; it has 16") }
        count = try reader.readInt64("count")
    }
}

/// Coordinator → worker, kind 12: the answer to an offer. Accepted, it names the coordinator's
/// parameter segment; refused, it says why, and both sides go on over the socket alone.
///
/// Header: version, kind 12, `accepted` (UInt8, 0 or 1), `path` (string), `token` (bytes),
/// `count` (Int64), `reason` (string).
public struct SharedMemoryAnswer: Equatable, Sendable {
    /// Whether the coordinator mapped the worker's segment.
    public var accepted: Bool
    /// The coordinator's parameter segment (empty when refused).
    public var path: String
    /// The random token in its header (empty when refused).
    public var token: [UInt8]
    /// Float32 values it holds.
    public var count: Int64
    /// Why the offer was refused (empty when accepted).
    public var reason: String

    /// An acceptance naming the parameter segment at `path`.
    public static func accepted(path: String, token: [UInt8], count: Int64) -> SharedMemoryAnswer {
        SharedMemoryAnswer(accepted: true, path: path, token: token, count: count, reason: "")
    }

    /// A refusal for `reason`.
    public static func refused(_ reason: String) -> SharedMemoryAnswer {
        SharedMemoryAnswer(accepted: false, path: "", token: [], count: 0, reason: reason)
    }

    init(accepted: Bool, path: String, token: [UInt8], count: Int64, reason: String) {
        self.accepted = accepted
        self.path = path
        self.token = token
        self.count = count
        self.reason = reason
    }

    func encode(into writer: inout WireWriter) {
        writer.write(accepted ? 1 as UInt8 : 0)
        writer.write(path)
        writer.write(bytes: token)
        writer.write(count)
        writer.write(reason)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        let flag = try reader.readUInt8("accepted")
        guard flag <= 1 else { throw WireError(.malformed, "sharedMemoryAnswer header: accepted is \(flag); it is 0 or 1") }
        accepted = flag == 1
        path = try reader.readString("path")
        token = try reader.readBytes("token")
        count = try reader.readInt64("count")
        reason = try reader.readString("reason")
    }
}
