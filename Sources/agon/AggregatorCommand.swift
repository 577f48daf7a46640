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

    @Option(help: "The run folder (run.db, plots/, samples/, tensorboard/).")
    var runDir: String = "runs/run"

    @Option(parsing: .unconditional, help: "Seconds between renderings of the plots.")
    var renderInterval: Double = 5

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var progress: ProgressOptions

    @Flag(help: "Stop when the parent process exits (set by `agon run`).")
    var exitWithParent = false

    func validate() throws {
        guard renderInterval > 0 else { throw ValidationError("--render-interval must be positive, got \(renderInterval)") }
        try EndpointOption.validate(bind, option: "--bind", binding: true)
    }

    func run() throws {
        let signals = StopSignals(watchingParent: exitWithParent)
        try RunFolder.prepare(runDir)
        var configuration = AggregatorConfiguration(bind: bind, runDirectory: runDir)
        configuration.renderInterval = renderInterval
        let watch = progress.progressEvery > 0 ? SourceWatch(every: progress.progressEvery) : nil
        defer { watch?.stop() }
        if let watch { configuration.onStored = { watch.stored(source: $0, incarnation: $1, newEvents: $2) } }
        let aggregator = try Aggregator(configuration: configuration, log: logLine)
        try aggregator.run { signals.flag.isStopped }
        logLine("aggregator: stopped; plots in \(runDir)/plots")
    }
}
