// `agon aggregator`: collects every source's events into RUN/run.db and draws the run's plots,
// sample grids and TensorBoard files. Started by `agon run`, or by hand on any machine.
import AgonAggregator
import ArgumentParser
import Foundation

struct AggregatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregator",
        abstract: "Store every worker's events without loss and draw the run.",
        discussion: "Started again on the same --run-dir it goes on where it stopped; workers resend what it had not acknowledged.")

    @Option(help: "ZeroMQ endpoint to listen on (PORT * picks a free one, written to RUN/aggregator.json).")
    var bind: String = "tcp://127.0.0.1:5556"

    @Option(help: "The run folder: run.db, plots/, samples/ (from the events), tensorboard/, report.html, aggregator.json.")
    var runDir: String = "runs/run"

    @Option(help: "CURVE key folder: DIR/secret.key (this aggregator's), DIR/public.key and DIR/authorized/*.key (the event sources to admit).")
    var keys: String?

    @Option(help: "CURVE secret key file (from `agon keys generate`): encrypt, and admit only --authorized-keys.")
    var curveSecret: String?

    @Option(help: "Folder of public key files of the event sources to admit (with --curve-secret).")
    var authorizedKeys: String?

    @Option(parsing: .unconditional, help: "Seconds between renderings of the plots.")
    var renderInterval: Double = 5

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var progress: ProgressOptions

    @Flag(help: "Stop when the parent process exits (set by `agon run`).")
    var exitWithParent = false

    func validate() throws {
        guard renderInterval > 0 else { throw ValidationError("--render-interval must be positive, got \(renderInterval)") }
        try EndpointOption.validate(bind, option: "--bind", binding: true)
        try RoleKeys.validate(keys: keys, ("--curve-secret", curveSecret), ("--authorized-keys", authorizedKeys))
    }

    func run() throws {
        let signals = StopSignals(watchingParent: exitWithParent)
        try RunFolder.prepare(runDir)
        var configuration = AggregatorConfiguration(bind: bind, runDirectory: runDir)
        configuration.renderInterval = renderInterval
        let watch = progress.progressEvery > 0 ? SourceWatch(every: progress.progressEvery) : nil
        defer { watch?.stop() }
        if let watch { configuration.onStored = { watch.stored(source: $0, incarnation: $1, newEvents: $2) } }
        if let curve = try RoleKeys.server(role: "aggregator", bind: bind, openRisk: "any peer can write into run.db, and events travel in clear text",
                                           keys: keys, curveSecret: curveSecret, authorizedKeys: authorizedKeys) {
            configuration.curveSecretKey = curve.secretKey
            configuration.authorizedKeys = curve.admittedKeys.keys.sorted()
        }
        let aggregator = try Aggregator(configuration: configuration, log: logLine)
        try aggregator.run { signals.flag.isStopped }
        logLine("aggregator: stopped; plots in \(runDir)/plots")
    }
}
