// Membership messages: a worker joins (kind 1), is welcomed (2) or refused (3), and leaves (8).
// Each layout is written and read here, side by side; docs/PROTOCOL.md draws the bytes.

/// Worker → coordinator, kind 1: asks to take part in the run.
///
/// Header: version, kind 1, `workerID` (string), `host` (string), `pid` (Int32).
public struct Join: Equatable, Sendable {
    /// A UUID the worker makes once per process, so that a restarted process is a new worker.
    public var workerID: String
    /// The worker's host name, for logs and reports.
    public var host: String
    /// The worker's process id, for logs and reports.
    public var pid: Int32

    /// A join request from the worker process `pid` on `host`.
    public init(workerID: String, host: String, pid: Int32) {
        self.workerID = workerID
        self.host = host
        self.pid = pid
    }

    func encode(into writer: inout WireWriter) {
        writer.write(workerID)
        writer.write(host)
        writer.write(pid)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        workerID = try reader.readString("workerID")
        host = try reader.readString("host")
        pid = try reader.readInt32("pid")
    }
}

/// Coordinator → worker, kind 2: admitted.
///
/// Header: version, kind 2, `rank` (Int32), `world` (Int32), `step` (Int64),
/// `configuration` (string), `generation` (Int64), `aggregator` (string).
public struct Welcome: Equatable, Sendable {
    /// The worker's rank, 0 ..< world, until a `parameters` message says otherwise.
    public var rank: Int32
    /// The number of workers in the next step.
    public var world: Int32
    /// The next step to run.
    public var step: Int64
    /// The run's settings as JSON (model, batch size, seed, ...).
    public var configuration: String
    /// The run's generation: 1 for the coordinator's first start on its run folder, one more
    /// at each restart. A worker tags its events with it (a new event incarnation per generation).
    public var generation: Int64
    /// The aggregator's endpoint (`tcp://NAME:PORT`) for the worker's events, as the
    /// coordinator was given it; empty: the coordinator knows of none.
    public var aggregator: String

    /// An admission as `rank` of `world`, starting at `step`, with the run's `configuration`.
    public init(rank: Int32, world: Int32, step: Int64, configuration: String, generation: Int64 = 1, aggregator: String = "") {
        self.rank = rank
        self.world = world
        self.step = step
        self.configuration = configuration
        self.generation = generation
        self.aggregator = aggregator
    }

    func encode(into writer: inout WireWriter) {
        writer.write(rank)
        writer.write(world)
        writer.write(step)
        writer.write(configuration)
        writer.write(generation)
        writer.write(aggregator)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        rank = try reader.readInt32("rank")
        world = try reader.readInt32("world")
        step = try reader.readInt64("step")
        configuration = try reader.readString("configuration")
        generation = try reader.readInt64("generation")
        aggregator = try reader.readString("aggregator")
    }
}

/// Coordinator → worker, kind 3: not admitted (wrong version, run full or over, unknown
/// worker), or dropped from the run.
///
/// Header: version, kind 3, `reason` (string).
public struct Refused: Equatable, Sendable {
    /// One line saying why, for the worker to log.
    public var reason: String

    /// A refusal for `reason`.
    public init(reason: String) {
        self.reason = reason
    }

    func encode(into writer: inout WireWriter) {
        writer.write(reason)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        reason = try reader.readString("reason")
    }
}

/// Worker → coordinator, kind 8: leaving the run (shut down, or given up).
///
/// Header: version, kind 8, `reason` (string), `stopped` (UInt8, 0 or 1).
public struct Leave: Equatable, Sendable {
    /// One line saying why, for the coordinator to log.
    public var reason: String
    /// True when the worker was stopped (a signal) rather than done: the coordinator waits for
    /// its rank until the step deadline, as for a silent worker, since the same signal may be
    /// about to stop the whole run.
    public var stopped: Bool

    /// A notice of leaving for `reason`.
    public init(reason: String, stopped: Bool = false) {
        self.reason = reason
        self.stopped = stopped
    }

    func encode(into writer: inout WireWriter) {
        writer.write(reason)
        writer.write(UInt8(stopped ? 1 : 0))
    }

    init(reading reader: inout WireReader) throws(WireError) {
        reason = try reader.readString("reason")
        switch try reader.readUInt8("stopped") {
        case 0: stopped = false
        case 1: stopped = true
        case let other: throw WireError(.malformed, "leave header: stopped is \(other), not 0 or 1")
        }
    }
}
