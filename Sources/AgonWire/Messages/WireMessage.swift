// Every message of Agon's protocol, its kind number, and the framing they share:
// frames [header] or [header, payload]; header = version, kind, fields; payload = Float32s.
// The fields of each family are laid out in Membership.swift, Training.swift, Liveness.swift.

/// A message between a worker and the coordinator (docs/PROTOCOL.md has the byte layouts).
///
/// A message is one frame, the header, or two, the header and a payload of raw little-endian
/// Float32 values (for `gradients` and `parameters`, and only those). The header starts with
/// the protocol version byte and the kind byte, followed by the kind's fields: little-endian
/// integers and strings as a UInt32 byte count then UTF-8.
public enum WireMessage: Equatable, Sendable {
    /// Worker → coordinator: asks to take part in the run.
    case join(Join)
    /// Coordinator → worker: admitted, with its rank, the world size and the next step.
    case welcome(Welcome)
    /// Coordinator → worker: not admitted, or no longer admitted.
    case refused(Refused)
    /// Worker → coordinator: one step's gradients.
    case gradients(Gradients)
    /// Coordinator → worker: the parameters after a step, and the rank and world of the next.
    case parameters(Parameters)
    /// Both ways: still alive, at this step.
    case heartbeat(Heartbeat)
    /// Coordinator → worker: the run is over.
    case complete(Complete)
    /// Worker → coordinator: leaving the run.
    case leave(Leave)
    /// Source → aggregator: numbered events (metrics, images, alarms).
    case events(EventBatch)
    /// Aggregator → source: what is stored.
    case eventAck(EventAck)
    /// Worker → coordinator: its gradient segment, for the shared-memory lane.
    case sharedMemoryOffer(SharedMemoryOffer)
    /// Coordinator → worker: the lane accepted (with the parameter segment) or refused.
    case sharedMemoryAnswer(SharedMemoryAnswer)
    /// Worker → coordinator: one step's gradients, the values in the worker's segment
    /// (`values` is empty).
    case sharedGradients(Gradients)
    /// Coordinator → worker: parameters, the values in the coordinator's segment as written at
    /// `sequence` (`values` is empty).
    case sharedParameters(Parameters, sequence: UInt64)

    /// The version byte every header starts with. A peer that sends another is refused.
    public static let protocolVersion: UInt8 = 3
    /// The largest header frame accepted: 1 MiB (strings included).
    public static let maximumHeaderBytes = 1 << 20
    /// The payload limit `decode` applies unless told otherwise: 256 MiB (64 Mi floats), the
    /// same as `WireSocket.Options.maximumMessageBytes`.
    public static let defaultMaximumPayloadBytes = 256 << 20

    /// The kind byte of each message. A number is never reused: a retired kind keeps its
    /// number, listed here as a comment, and a new kind takes the next free one.
    public enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// `WireMessage.join`.
        case join = 1
        /// `WireMessage.welcome`.
        case welcome = 2
        /// `WireMessage.refused`.
        case refused = 3
        /// `WireMessage.gradients`.
        case gradients = 4
        /// `WireMessage.parameters`.
        case parameters = 5
        /// `WireMessage.heartbeat`.
        case heartbeat = 6
        /// `WireMessage.complete`.
        case complete = 7
        /// `WireMessage.leave`.
        case leave = 8
        /// `WireMessage.events`.
        case events = 9
        /// `WireMessage.eventAck`.
        case eventAck = 10
        /// `WireMessage.sharedMemoryOffer`.
        case sharedMemoryOffer = 11
        /// `WireMessage.sharedMemoryAnswer`.
        case sharedMemoryAnswer = 12
        /// `WireMessage.sharedGradients`.
        case sharedGradients = 13
        /// `WireMessage.sharedParameters`.
        case sharedParameters = 14

        /// Whether this kind carries a payload frame (and must).
        public var hasPayload: Bool { self == .gradients || self == .parameters }

        /// The kind's name as written in docs/PROTOCOL.md: `join`, `gradients`, ...
        public var description: String {
            switch self {
            case .join: "join"
            case .welcome: "welcome"
            case .refused: "refused"
            case .gradients: "gradients"
            case .parameters: "parameters"
            case .heartbeat: "heartbeat"
            case .complete: "complete"
            case .leave: "leave"
            case .events: "events"
            case .eventAck: "eventAck"
            case .sharedMemoryOffer: "sharedMemoryOffer"
            case .sharedMemoryAnswer: "sharedMemoryAnswer"
            case .sharedGradients: "sharedGradients"
            case .sharedParameters: "sharedParameters"
            }
        }
    }

    /// This message's kind.
    public var kind: Kind {
        switch self {
        case .join: .join
        case .welcome: .welcome
        case .refused: .refused
        case .gradients: .gradients
        case .parameters: .parameters
        case .heartbeat: .heartbeat
        case .complete: .complete
        case .leave: .leave
        case .events: .events
        case .eventAck: .eventAck
        case .sharedMemoryOffer: .sharedMemoryOffer
        case .sharedMemoryAnswer: .sharedMemoryAnswer
        case .sharedGradients: .sharedGradients
        case .sharedParameters: .sharedParameters
        }
    }

    /// The name of this message's kind, for logs: `join`, `gradients`, ...
    public var kindName: String { kind.description }

    /// The header frame: version, kind, then the kind's fields.
    public func encodedHeader() -> [UInt8] {
        var writer = WireWriter(kind: kind)
        switch self {
        case .join(let message): message.encode(into: &writer)
        case .welcome(let message): message.encode(into: &writer)
        case .refused(let message): message.encode(into: &writer)
        case .gradients(let message): message.encode(into: &writer)
        case .parameters(let message): message.encode(into: &writer)
        case .heartbeat(let message): message.encode(into: &writer)
        case .complete(let message): message.encode(into: &writer)
        case .leave(let message): message.encode(into: &writer)
        case .events(let message): message.encode(into: &writer)
        case .eventAck(let message): message.encode(into: &writer)
        case .sharedMemoryOffer(let message): message.encode(into: &writer)
        case .sharedMemoryAnswer(let message): message.encode(into: &writer)
        case .sharedGradients(let message): message.encode(into: &writer)
        case .sharedParameters(let message, let sequence):
            message.encode(into: &writer)
            writer.write(Int64(bitPattern: sequence))
        }
        return writer.bytes
    }

    /// The Float32 values of the payload frame, for the kinds that carry one.
    public var payloadValues: [Float]? {
        switch self {
        case .gradients(let message): message.values
        case .parameters(let message): message.values
        default: nil
        }
    }

    /// The frames of this message: `[header]`, or `[header, payload]` for gradients and
    /// parameters. The payload is copied once from the Float array; to send without even that
    /// copy, use `WireSocket.send(_:to:)`.
    public func encoded() -> [[UInt8]] {
        guard let values = payloadValues else { return [encodedHeader()] }
        return [encodedHeader(), values.withUnsafeBufferPointer { WireWriter.littleEndianBytes(of: $0) }]
    }

    /// Decodes the frames of one message (on a ROUTER, after removing the routing id frame).
    ///
    /// - Parameter maxPayloadBytes: the largest payload frame accepted.
    /// - Throws: `WireError`, never traps, with code
    ///   - `.malformed`: no frames, more than 2, a payload where the kind has none or none where
    ///     it needs one, a payload that is not whole Float32s, bytes left after the last field,
    ///     a string that is not UTF-8, a phase with bits other than 0 and 1;
    ///   - `.truncated`: a header shorter than its fields, a string longer than what is left;
    ///   - `.wrongVersion`, `.unknownKind`: the first and second header bytes;
    ///   - `.oversized`: a header over `maximumHeaderBytes` or a payload over `maxPayloadBytes`.
    public static func decode(
        _ frames: [[UInt8]], maxPayloadBytes: Int = defaultMaximumPayloadBytes
    ) throws(WireError) -> WireMessage {
        guard let header = frames.first else { throw WireError(.malformed, "message has no frames") }
        guard frames.count <= 2 else {
            throw WireError(.malformed, "message has \(frames.count) frames; a message has a header and at most 1 payload")
        }
        guard header.count <= maximumHeaderBytes else {
            throw WireError(.oversized, "header of \(header.count) bytes is over the \(maximumHeaderBytes)-byte limit")
        }
        guard header.count >= 2 else {
            throw WireError(.truncated, "header of \(header.count) bytes; it needs at least 2 (version, kind)")
        }
        guard header[0] == protocolVersion else {
            throw WireError(.wrongVersion, "message of protocol version \(header[0]); this peer speaks version \(protocolVersion)")
        }
        guard let kind = Kind(rawValue: header[1]) else {
            throw WireError(.unknownKind, "unknown message kind \(header[1]) in protocol version \(protocolVersion)")
        }
        let payload = frames.count == 2 ? frames[1] : nil
        if kind.hasPayload {
            guard let payload else { throw WireError(.malformed, "\(kind) message has no payload frame") }
            guard payload.count <= maxPayloadBytes else {
                throw WireError(.oversized, "\(kind) payload of \(payload.count) bytes is over the \(maxPayloadBytes)-byte limit")
            }
            guard payload.count % MemoryLayout<Float>.size == 0 else {
                throw WireError(.malformed, "\(kind) payload of \(payload.count) bytes is not a whole number of Float32 values")
            }
        } else if payload != nil {
            throw WireError(.malformed, "\(kind) message has a payload frame; it takes none")
        }

        var reader = WireReader(header, context: kind.description)
        _ = try reader.readUInt8("version")
        _ = try reader.readUInt8("kind")
        let message: WireMessage
        switch kind {
        case .join: message = .join(try Join(reading: &reader))
        case .welcome: message = .welcome(try Welcome(reading: &reader))
        case .refused: message = .refused(try Refused(reading: &reader))
        case .gradients: message = .gradients(try Gradients(reading: &reader, payload: payload ?? []))
        case .parameters: message = .parameters(try Parameters(reading: &reader, payload: payload ?? []))
        case .heartbeat: message = .heartbeat(try Heartbeat(reading: &reader))
        case .complete: message = .complete(try Complete(reading: &reader))
        case .leave: message = .leave(try Leave(reading: &reader))
        case .events: message = .events(try EventBatch(reading: &reader))
        case .eventAck: message = .eventAck(try EventAck(reading: &reader))
        case .sharedMemoryOffer: message = .sharedMemoryOffer(try SharedMemoryOffer(reading: &reader))
        case .sharedMemoryAnswer: message = .sharedMemoryAnswer(try SharedMemoryAnswer(reading: &reader))
        case .sharedGradients: message = .sharedGradients(try Gradients(reading: &reader, payload: []))
        case .sharedParameters:
            let parameters = try Parameters(reading: &reader, payload: [])
            message = .sharedParameters(parameters, sequence: UInt64(bitPattern: try reader.readInt64("sequence")))
        }
        try reader.finish()
        return message
    }
}
