// `agon worker`: one replica of a distributed run; it gets the run's settings from the
// coordinator and trains on its shard until the coordinator says the run is complete.
import AgonTraining
import AgonWire
import AgonWorker
import ArgumentParser
import Foundation

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Train one replica, averaging gradients through a coordinator.")

    @Option(help: "The coordinator's endpoint, tcp://HOST:PORT; HOST may be a name that resolves only later (a Service, a node): the worker waits for it.")
    var coordinator: String

    @Option(help: "CURVE key folder: DIR/secret.key (this worker's), DIR/coordinator.key (the coordinator's public key), DIR/aggregator.key (the aggregator's; default coordinator.key).")
    var keys: String?

    @Option(help: "This worker's CURVE secret key file (from `agon keys generate`).")
    var curveKey: String?

    @Option(help: "The coordinator's CURVE public key file.")
    var coordinatorKey: String?

    @Option(help: "The aggregator's CURVE public key file (default: the coordinator's).")
    var aggregatorKey: String?

    @Option(help: "The data folder on this machine, when it differs from the coordinator's.")
    var data: String?

    @Option(help: "The aggregator's endpoint, tcp://HOST:PORT (default: the one the coordinator names when this worker joins).")
    var aggregator: String?

    @Option(help: "This worker's name in the run's events (default: worker-RANK, from its first rank).")
    var name: String?

    @Option(help: "The run folder, shared with the other roles: unsent events are kept in RUN/spool.")
    var runDir: String?

    @Option(help: "Where events the aggregator has not acknowledged are kept across a stop, for the next start of this worker (default: RUN/spool with --run-dir, else in memory only).")
    var spoolDir: String?

    @Option(parsing: .unconditional, help: "Seconds to wait for a coordinator that is not up yet before giving up (default: wait for ever).")
    var connectTimeout: Double?

    @Option(parsing: .unconditional, help: "Seconds to wait for the coordinator's welcome once connected before giving up.")
    var joinTimeout: Double = 30

    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Send gradients and parameters through the socket even when the coordinator is on this machine (no shared-memory lane).")
    var noSharedMemory = false

    @Flag(help: "Stop when the parent process exits (set by `agon run`).")
    var exitWithParent = false

    func validate() throws {
        try RoleKeys.validate(keys: keys, ("--curve-key", curveKey), ("--coordinator-key", coordinatorKey))
        guard joinTimeout > 0 else { throw ValidationError("--join-timeout must be positive") }
        if let connectTimeout { guard connectTimeout > 0 else { throw ValidationError("--connect-timeout must be positive, got \(connectTimeout)") } }
        try EndpointOption.validate(coordinator, option: "--coordinator", binding: false)
        if let aggregator { try EndpointOption.validate(aggregator, option: "--aggregator", binding: false) }
    }

    func run() throws {
        let signals = StopSignals(watchingParent: exitWithParent)
        var configuration = WorkerConfiguration(coordinator: coordinator)
        configuration.dataDirectory = data
        configuration.joinTimeout = joinTimeout
        configuration.connectTimeout = connectTimeout
        configuration.sharedMemory = !noSharedMemory
        let curve = try RoleKeys.worker(keys: keys, curveKey: curveKey, coordinatorKey: coordinatorKey)
        if let curve, let server = curve.coordinatorKey {
            configuration.curve = (server, curve.publicKey, curve.secretKey)
        }
        if let runDir { try RunFolder.prepare(runDir, subfolders: ["spool"]) }
        let events = WorkerEvents(aggregator: aggregator, spoolDirectory: spoolDir ?? runDir.map { $0 + "/spool" },
                                  security: try RoleKeys.eventSecurity(curve, aggregatorKey: aggregatorKey), name: name)
        let worker = Worker(configuration: configuration, log: logLine,
                            onJoined: { place in
                                ProcessLog.place.update(rank: place.rank)
                                events.joined(place)
                            },
                            observer: { metrics, place in
                                ProcessLog.place.update(rank: place.rank, step: metrics.step)
                                events.record(metrics, place)
                            })
        let finished = try worker.run(stop: signals.flag)
        events.finish(timeout: finished == nil ? 2 : 30)   // stopped: do not linger for the aggregator
        guard finished != nil else { throw ExitCode(130) }
    }
}
