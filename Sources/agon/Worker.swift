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

    @Option(help: "The coordinator's endpoint, tcp://HOST:PORT.")
    var coordinator: String

    @Option(help: "This worker's CURVE secret key file (from `agon keys generate`).")
    var curveKey: String?

    @Option(help: "The coordinator's CURVE public key file.")
    var coordinatorKey: String?

    @Option(help: "The data folder on this machine, when it differs from the coordinator's.")
    var data: String?

    @Option(help: "The aggregator's endpoint, tcp://HOST:PORT: each step's metrics go there.")
    var aggregator: String?

    @Option(help: "This worker's name in the run's events (default: worker-RANK, from its first rank).")
    var name: String?

    @Option(help: "Where events the aggregator has not acknowledged are kept across a stop, for the next start of this worker (default: in memory only).")
    var spoolDir: String?

    @Option(help: "Seconds to wait for the coordinator's welcome before giving up.")
    var joinTimeout: Double = 30

    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Send gradients and parameters through the socket even when the coordinator is on this machine (no shared-memory lane).")
    var noSharedMemory = false

    @Flag(help: "Stop when the parent process exits (set by `agon run`).")
    var exitWithParent = false

    func validate() throws {
        guard (curveKey == nil) == (coordinatorKey == nil) else {
            throw ValidationError("--curve-key and --coordinator-key go together")
        }
        guard joinTimeout > 0 else { throw ValidationError("--join-timeout must be positive") }
        try EndpointOption.validate(coordinator, option: "--coordinator", binding: false)
        if let aggregator { try EndpointOption.validate(aggregator, option: "--aggregator", binding: false) }
    }

    func run() throws {
        let signals = StopSignals(watchingParent: exitWithParent)
        var configuration = WorkerConfiguration(coordinator: coordinator)
        configuration.dataDirectory = data
        configuration.joinTimeout = joinTimeout
        configuration.sharedMemory = !noSharedMemory
        if let curveKey, let coordinatorKey {
            let secret = try Curve.readKeyFile(at: curveKey)
            configuration.curve = (try Curve.readKeyFile(at: coordinatorKey), try Curve.publicKey(forSecretKey: secret), secret)
        }
        let events = try aggregator.map { try MetricsReporter(endpoint: $0, spoolDirectory: spoolDir) }
        let name = self.name
        // Named by its first rank: a restarted worker that takes the same rank continues its
        // series (and sends what its previous start left in the spool folder first).
        @Sendable func begin(_ reporter: MetricsReporter, _ place: WorkerPlace) {
            reporter.begin(source: reporter.name ?? name ?? "worker-\(place.rank)", generation: place.generation, rank: Int32(place.rank))
        }
        let worker = Worker(configuration: configuration, log: logLine,
                            onJoined: { place in
                                ProcessLog.place.update(rank: place.rank)
                                if let events { begin(events, place) }
                            },
                            observer: { metrics, place in
                                ProcessLog.place.update(rank: place.rank, step: metrics.step)
                                guard let events else { return }
                                begin(events, place)
                                events.record(metrics)
                            })
        let finished = try worker.run(stop: signals.flag)
        events?.finish(timeout: finished == nil ? 2 : 30)   // stopped: do not linger for the aggregator
        guard finished != nil else { throw ExitCode(130) }
    }
}
