// Event messages: a worker's (or any trainer's) metrics, images, identity and alarms go to the
// aggregator in numbered batches (kind 9); the aggregator acknowledges what it has stored
// (kind 10). Each layout is written and read here; docs/PROTOCOL.md draws the bytes.

/// One event: what a source measured or produced at a step, numbered per source.
public struct WireEvent: Equatable, Sendable {
    /// What an event carries.
    public enum Payload: Equatable, Sendable {
        /// Named values of one step (`g_loss`, `d_loss`, `acc_real`, …).
        case scalars([WireScalar])
        /// A PNG image, such as a grid of G's samples.
        case image(tag: String, width: Int32, height: Int32, png: [UInt8])
        /// Who the source is: sent first, and again after a rank change.
        case worker(host: String, pid: Int32, rank: Int32)
        /// A named alarm about the training (discriminator overpowering, divergence, …).
        case alarm(name: String, message: String)
        /// The coordinator started generation `number` of the run, resuming after step
        /// `resumedFrom` (0: from the start); `settings` is a JSON object (the run's settings,
        /// Agon's version, the host). What earlier generations stored past `resumedFrom` is
        /// superseded.
        case generation(number: Int64, resumedFrom: Int64, settings: String)

        var code: UInt8 {
            switch self {
            case .scalars: 1
            case .image: 2
            case .worker: 3
            case .alarm: 4
            case .generation: 5
            }
        }
    }

    /// The source's sequence number, from 0, one per event, never reused.
    public var seq: Int64
    /// The training step the event belongs to.
    public var step: Int64
    /// Seconds since 1970 when the source made the event.
    public var wallTime: Double
    public var payload: Payload

    public init(seq: Int64, step: Int64, wallTime: Double, payload: Payload) {
        self.seq = seq
        self.step = step
        self.wallTime = wallTime
        self.payload = payload
    }
}

/// A named scalar value.
public struct WireScalar: Equatable, Sendable {
    public var tag: String
    public var value: Double

    public init(tag: String, value: Double) {
        self.tag = tag
        self.value = value
    }
}

/// Source → aggregator, kind 9: events of one source, in sequence order.
///
/// Header: version, kind 9, `run` (string), `source` (string), `incarnation` (Int64),
/// `generation` (Int64), `count` (Int32), then per event `seq` (Int64), `step` (Int64),
/// `wallTime` (Float64), payload code (UInt8) and its fields:
/// 1 scalars: count (Int32), then per value `tag` (string), `value` (Float64);
/// 2 image: `tag` (string), `width` (Int32), `height` (Int32), `png` (bytes);
/// 3 worker: `host` (string), `pid` (Int32), `rank` (Int32);
/// 4 alarm: `name` (string), `message` (string);
/// 5 generation: `number` (Int64), `resumedFrom` (Int64), `settings` (string, JSON).
public struct EventBatch: Equatable, Sendable {
    /// The run the events belong to.
    public var run: String
    /// The source: `worker-0`, `coordinator`, or any trainer's own name; stable across restarts.
    public var source: String
    /// Which process of `source` numbered these events: a new one per start, never reused
    /// (Agon's sources take their start time in microseconds since 1970). Sequence numbers
    /// count from 0 in each incarnation, so a restarted source never collides with its past.
    public var incarnation: Int64
    /// The run generation (the coordinator's start) the events were made in, from 1; 0 for a
    /// source outside a coordinator's run, whose events are never superseded.
    public var generation: Int64
    public var events: [WireEvent]

    public init(run: String, source: String, incarnation: Int64 = 0, generation: Int64 = 0, events: [WireEvent]) {
        self.run = run
        self.source = source
        self.incarnation = incarnation
        self.generation = generation
        self.events = events
    }

    func encode(into writer: inout WireWriter) {
        writer.write(run)
        writer.write(source)
        writer.write(incarnation)
        writer.write(generation)
        writer.write(Int32(events.count))
        for event in events {
            writer.write(event.seq)
            writer.write(event.step)
            writer.write(event.wallTime)
            writer.write(event.payload.code)
            switch event.payload {
            case .scalars(let values):
                writer.write(Int32(values.count))
                for v in values {
                    writer.write(v.tag)
                    writer.write(v.value)
                }
            case .image(let tag, let width, let height, let png):
                writer.write(tag)
                writer.write(width)
                writer.write(height)
                writer.write(bytes: png)
            case .worker(let host, let pid, let rank):
                writer.write(host)
                writer.write(pid)
                writer.write(rank)
            case .alarm(let name, let message):
                writer.write(name)
                writer.write(message)
            case .generation(let number, let resumedFrom, let settings):
                writer.write(number)
                writer.write(resumedFrom)
                writer.write(settings)
            }
        }
    }

    init(reading reader: inout WireReader) throws(WireError) {
        run = try reader.readString("run")
        source = try reader.readString("source")
        incarnation = try reader.readInt64("incarnation")
        generation = try reader.readInt64("generation")
        guard incarnation >= 0, generation >= 0 else {
            throw WireError(.malformed, "events header: incarnation \(incarnation) and generation \(generation) must not be negative")
        }
        let count = try reader.readInt32("count")
        // Each event takes at least 25 bytes: a count beyond what remains is a lie.
        guard count >= 0, Int(count) * 25 <= reader.remaining else {
            throw WireError(.malformed, "events header: count \(count) does not fit the \(reader.remaining) bytes left")
        }
        events = []
        events.reserveCapacity(Int(count))
        for _ in 0..<count {
            let seq = try reader.readInt64("seq")
            let step = try reader.readInt64("step")
            let wallTime = try reader.readDouble("wallTime")
            let payload: WireEvent.Payload
            switch try reader.readUInt8("payload code") {
            case 1:
                let n = try reader.readInt32("scalar count")
                guard n >= 0, Int(n) * 12 <= reader.remaining else {
                    throw WireError(.malformed, "events header: scalar count \(n) does not fit the \(reader.remaining) bytes left")
                }
                var values: [WireScalar] = []
                values.reserveCapacity(Int(n))
                for _ in 0..<n { values.append(WireScalar(tag: try reader.readString("tag"), value: try reader.readDouble("value"))) }
                payload = .scalars(values)
            case 2:
                payload = .image(tag: try reader.readString("tag"), width: try reader.readInt32("width"),
                                 height: try reader.readInt32("height"), png: try reader.readBytes("png"))
            case 3:
                payload = .worker(host: try reader.readString("host"), pid: try reader.readInt32("pid"), rank: try reader.readInt32("rank"))
            case 4:
                payload = .alarm(name: try reader.readString("name"), message: try reader.readString("message"))
            case 5:
                payload = .generation(number: try reader.readInt64("number"), resumedFrom: try reader.readInt64("resumedFrom"),
                                      settings: try reader.readString("settings"))
            case let code:
                throw WireError(.malformed, "events header: unknown payload code \(code)")
            }
            guard seq >= 0, seq < Int64.max else { throw WireError(.malformed, "events header: seq \(seq) out of range") }
            events.append(WireEvent(seq: seq, step: step, wallTime: wallTime, payload: payload))
        }
        try reader.finish()
    }
}

extension EventBatch {
    /// The fields before the events of a batch: enough to answer one whose events cannot be
    /// decoded (a seq out of range, an unknown payload code), so that its source is told.
    public struct Header: Equatable, Sendable {
        public var run: String
        public var source: String
        public var incarnation: Int64
        public var generation: Int64
        /// The number of events the batch claims (maybe negative: a lie, answered as 0).
        public var count: Int32

        public init(run: String, source: String, incarnation: Int64, generation: Int64, count: Int32) {
            self.run = run
            self.source = source
            self.incarnation = incarnation
            self.generation = generation
            self.count = count
        }
    }

    /// The header of an events message (one frame, this protocol version, kind 9, under the
    /// header limit) whose run, source, incarnation, generation and count read whole; nil for
    /// anything else. What follows them is not looked at: use it after `WireMessage.decode`
    /// has thrown, to answer the batch rather than leave its source resending it forever.
    public static func header(of frames: [[UInt8]]) -> Header? {
        guard frames.count == 1, let bytes = frames.first, bytes.count >= 2, bytes.count <= WireMessage.maximumHeaderBytes,
              bytes[0] == WireMessage.protocolVersion, bytes[1] == WireMessage.Kind.events.rawValue else { return nil }
        var reader = WireReader(Array(bytes.dropFirst(2)), context: "events")
        return try? Header(run: reader.readString("run"), source: reader.readString("source"), incarnation: reader.readInt64("incarnation"),
                           generation: reader.readInt64("generation"), count: reader.readInt32("count"))
    }
}

/// Aggregator → source, kind 10, the answer to each batch: every event of `source`'s
/// `incarnation` below `nextSequence` is stored (or refused), and the batch just handled ended
/// at `receivedThrough` (exclusive).
///
/// Header: version, kind 10, `source` (string), `incarnation` (Int64), `nextSequence` (Int64),
/// `receivedThrough` (Int64), `refused` (Int32), `reason` (string). A source drops what is
/// below `nextSequence` from its spool; when `nextSequence` is below `receivedThrough`, events
/// before the batch were lost (a gap, or an aggregator that restarted) and the source sends
/// again from `nextSequence`. `refused` counts the events of this batch the aggregator will
/// never store (a field out of its range), and `reason` says why the first was refused: they
/// count as answered, so the source neither keeps nor resends them.
public struct EventAck: Equatable, Sendable {
    public var source: String
    public var incarnation: Int64
    public var nextSequence: Int64
    public var receivedThrough: Int64
    public var refused: Int32
    public var reason: String

    public init(source: String, incarnation: Int64 = 0, nextSequence: Int64, receivedThrough: Int64, refused: Int32 = 0, reason: String = "") {
        self.source = source
        self.incarnation = incarnation
        self.nextSequence = nextSequence
        self.receivedThrough = receivedThrough
        self.refused = refused
        self.reason = reason
    }

    func encode(into writer: inout WireWriter) {
        writer.write(source)
        writer.write(incarnation)
        writer.write(nextSequence)
        writer.write(receivedThrough)
        writer.write(refused)
        writer.write(reason)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        source = try reader.readString("source")
        incarnation = try reader.readInt64("incarnation")
        nextSequence = try reader.readInt64("nextSequence")
        receivedThrough = try reader.readInt64("receivedThrough")
        refused = try reader.readInt32("refused")
        reason = try reader.readString("reason")
        try reader.finish()
    }
}
