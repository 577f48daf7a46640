// One event of a run as the store keeps it: what a worker measured or produced at a step,
// numbered per worker so that resent copies can be recognised and ignored.

/// One event of one worker, identified by `(worker, incarnation, seq)`.
///
/// Each incarnation (start) of a worker numbers its events 0, 1, 2, … and never reuses a
/// number; the store keeps the first copy of each `(worker, incarnation, seq)` and ignores any
/// later one.
public struct RunEvent: Sendable, Equatable {
    /// What an event carries. The kind numbers stored in `events.kind` are those of the wire
    /// protocol (1 scalars, 2 image, 3 worker, 4 alarm) and are never reused.
    public enum Payload: Sendable, Equatable {
        /// Named values of one step (`g_loss`, `d_loss`, …).
        case scalars([ScalarValue])
        /// A PNG image, such as a grid of the generator's samples.
        case image(tag: String, width: Int, height: Int, png: [UInt8])
        /// Who the worker is: its host, process id and rank.
        case worker(host: String, pid: Int32, rank: Int32)
        /// A named alarm about the training (divergence, discriminator overpowering, …).
        case alarm(name: String, message: String)
        /// The coordinator started generation `number`, resuming after step `resumedFrom`, with
        /// `settings` (JSON: the run's settings, Agon's version, the host).
        case generation(number: Int64, resumedFrom: Int64, settings: String)
        /// An event the aggregator will never store (a field out of range), and why: kept
        /// only as a number, so that the source's sequence has no gap.
        case refused(reason: String)

        /// The number stored in `events.kind` (0 for a refused event).
        public var kind: Int {
            switch self {
            case .scalars: 1
            case .image: 2
            case .worker: 3
            case .alarm: 4
            case .generation: 5
            case .refused: 0
            }
        }
    }

    /// The worker (or other source) that made the event: `worker-0`, `coordinator`, ….
    public var worker: String
    /// Which start of the worker numbered the event (0 for a source that has one).
    public var incarnation: Int64
    /// The run generation the incarnation trained in (0: outside a coordinator's run).
    public var generation: Int64
    /// The incarnation's sequence number for this event, from 0.
    public var seq: Int64
    /// The training step the event belongs to.
    public var step: Int64
    /// Seconds since 1970 when the worker made the event.
    public var wallTime: Double
    /// What the event carries.
    public var payload: Payload

    /// An event of `worker`'s `incarnation` numbered `seq`, made at `step` and `wallTime`.
    public init(worker: String, incarnation: Int64 = 0, generation: Int64 = 0, seq: Int64, step: Int64, wallTime: Double, payload: Payload) {
        self.worker = worker
        self.incarnation = incarnation
        self.generation = generation
        self.seq = seq
        self.step = step
        self.wallTime = wallTime
        self.payload = payload
    }
}

/// A named scalar value of one step.
public struct ScalarValue: Sendable, Equatable {
    /// The series the value belongs to (`g_loss`, `d_loss`, …).
    public var tag: String
    /// The value.
    public var value: Double

    /// The value `value` of the series `tag`.
    public init(tag: String, value: Double) {
        self.tag = tag
        self.value = value
    }
}

/// An alarm as stored: which worker raised it, at which step, and what it says.
public struct StoredAlarm: Sendable, Equatable {
    /// The worker that raised the alarm.
    public var worker: String
    /// The worker's sequence number of the alarm event.
    public var seq: Int64
    /// The alarm's name (`divergence`, `d_overpowering`, …).
    public var name: String
    /// The step the alarm belongs to.
    public var step: Int64
    /// Seconds since 1970 when the worker raised it.
    public var wallTime: Double
    /// What the alarm says.
    public var message: String

    /// An alarm of `worker`.
    public init(worker: String, seq: Int64, name: String, step: Int64, wallTime: Double, message: String) {
        self.worker = worker
        self.seq = seq
        self.name = name
        self.step = step
        self.wallTime = wallTime
        self.message = message
    }
}

/// What the store knows of a worker: its identity, once it has sent one, and when it was seen.
public struct WorkerInfo: Sendable, Equatable {
    /// The worker's name.
    public var worker: String
    /// The host it runs on, from its latest stored `.worker` event; nil before one arrives.
    public var host: String?
    /// Its process id, from the same event.
    public var pid: Int32?
    /// Its rank, from the same event.
    public var rank: Int32?
    /// The smallest wall time of its stored events.
    public var firstSeen: Double
    /// The largest wall time of its stored events.
    public var lastSeen: Double

    /// A worker's row.
    public init(worker: String, host: String?, pid: Int32?, rank: Int32?, firstSeen: Double, lastSeen: Double) {
        self.worker = worker
        self.host = host
        self.pid = pid
        self.rank = rank
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }
}

/// One start of a source: the key its events are numbered under.
public struct SourceIncarnation: Hashable, Sendable {
    public var worker: String
    public var incarnation: Int64

    public init(worker: String, incarnation: Int64) {
        self.worker = worker
        self.incarnation = incarnation
    }
}
