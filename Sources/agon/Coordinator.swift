// `agon coordinator`: the process that keeps a run's parameters and averages its workers'
// gradients. Started by `agon run`, or by hand or a cluster engine on its own machine.
import AgonCoordinator
import AgonTraining
import AgonWire
import ArgumentParser
import Foundation

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Average the workers' gradients, step the optimizers and checkpoint the run.",
        discussion: "Starts step 1 when --workers workers have joined; started again on the same --run-dir, it resumes from the last checkpoint.")

    @OptionGroup var options: TrainingOptions

    @OptionGroup var quality: QualityOptions

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var progress: ProgressOptions

    @Option(help: "ZeroMQ endpoint to listen on (tcp://HOST:PORT; PORT * picks a free one, written to RUN/coordinator.json).")
    var bind: String = "tcp://127.0.0.1:5555"

    @Option(help: "The run folder: checkpoints/, samples/, the final latent views in plots/, spool/ (events not yet stored), coordinator.json. Give the aggregator and the workers the same folder for the layout of `agon run`.")
    var runDir: String = "runs/run"

    @Option(parsing: .unconditional, help: "Workers to wait for before the first step.")
    var workers: Int = 1

    @Option(help: "Seconds to wait for the other workers after the first gradient of a step arrives.")
    var stepDeadline: Double = 10

    @Option(help: "CURVE key folder: DIR/secret.key (this coordinator's), DIR/public.key and DIR/authorized/*.key (the workers to admit), DIR/aggregator.key or DIR/coordinator.key (the aggregator's public key).")
    var keys: String?

    @Option(help: "CURVE secret key file (from `agon keys generate`): encrypt, and admit only --authorized-keys.")
    var curveSecret: String?

    @Option(help: "Folder of public key files of the workers to admit (with --curve-secret).")
    var authorizedKeys: String?

    @Option(help: "The aggregator's endpoint, tcp://HOST:PORT, as workers reach it: sample grids go there, and each worker is told it when it joins.")
    var aggregator: String?

    @Option(help: "The aggregator's CURVE public key file (default: the key folder's aggregator.key or coordinator.key, else this coordinator's own public key).")
    var aggregatorKey: String?

    @Flag(help: "Refuse workers' offers of a shared-memory lane: gradients and parameters go through the socket.")
    var noSharedMemory = false

    @Flag(help: "Do not draw the final checkpoint's latent views into RUN/plots at the end of the run (`agon latent RUN` draws them later).")
    var noLatentViews = false

    @Flag(help: "Print one JSON line per step on standard output (for `agon run`).")
    var progressJSON = false

    @Flag(help: "Stop when the parent process exits (set by `agon run`).")
    var exitWithParent = false

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers)") }
        guard stepDeadline > 0 else { throw ValidationError("--step-deadline must be positive") }
        try RoleKeys.validate(keys: keys, ("--curve-secret", curveSecret), ("--authorized-keys", authorizedKeys))
        try EndpointOption.validate(bind, option: "--bind", binding: true)
        if let aggregator { try EndpointOption.validate(aggregator, option: "--aggregator", binding: false) }
    }

    func run() throws {
        let signals = StopSignals(watchingParent: exitWithParent)
        var configuration = CoordinatorConfiguration(bind: bind, runDirectory: runDir, workers: workers, training: options.configuration)
        configuration.stepDeadline = stepDeadline
        configuration.sharedMemory = !noSharedMemory
        configuration.aggregator = aggregator
        let runDir = self.runDir
        let curve = try RoleKeys.server(role: "coordinator", bind: bind, openRisk: "any peer can join and read the parameters",
                                        keys: keys, curveSecret: curveSecret, authorizedKeys: authorizedKeys)
        let security = try RoleKeys.eventSecurity(curve, aggregatorKey: aggregatorKey, fallback: curve?.publicKey)
        let events = try aggregator.map { try MetricsReporter(endpoint: $0, spoolDirectory: runDir + "/spool", security: security) }
        defer { events?.finish(timeout: signals.flag.isStopped ? 2 : 30) }
        // Declared after `events`, so its last measurement is sent before they drain.
        let monitor = QualityMonitor(options: quality, dataDirectory: options.data, seed: options.seed, events: events, log: logLine)
        defer { monitor?.finish(timeout: signals.flag.isStopped ? 2 : 300) }
        // Declared after `events` too: the last grids are sent before they drain.
        let grids = SampleGridWriter(runDirectory: runDir, log: logLine)
        // Each grid's event goes into the spool (sent) before its file is written, so that no
        // grid is on disk that a kill -9 kept out of run.db.
        @Sendable func send(_ written: [SampleGridWriter.Written]) {
            guard !written.isEmpty else { return }
            for grid in written { events?.record(step: grid.step, tag: "samples", width: grid.width, height: grid.height, png: grid.png) }
            events?.flush()
            written.forEach(grids.save)
        }
        defer {
            send(grids.finish())
            grids.drain()
        }
        let progressJSON = self.progressJSON
        // Started by hand or by a cluster engine (not by `agon run`, which reads the JSON lines).
        let view = progressJSON || progress.progressEvery == 0 ? nil
            : ProgressView(interactive: logging.drawsOnTerminal, every: progress.progressEvery, prefix: "coordinator: ")
        defer { view?.finish() }
        configuration.onProgress = { p in
            ProcessLog.place.update(step: p.step)
            view?.update(step: p.step, total: p.totalSteps, workers: p.workers, samplesPerSecond: p.samplesPerSecond,
                         generatorLoss: Double(p.generatorLoss), discriminatorLoss: Double(p.discriminatorLoss))
            // Which ranks each step averaged: a run that lost a worker says which steps it missed.
            let mask = p.ranks.filter { $0 < 52 }.reduce(0.0) { $0 + Double(UInt64(1) << UInt64($1)) }
            events?.record(step: p.step, scalars: [("contributors", Double(p.workers)), ("ranks", mask)])
            guard progressJSON else { return }
            // JSON has no NaN or infinity: a diverged loss is written as null.
            func number(_ x: Float) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }
            let line = String(format: #"{"step":%d,"total":%d,"workers":%d,"g_loss":%@,"d_loss":%@,"samples_per_s":%.1f}"#,
                              p.step, p.totalSteps, p.workers, number(p.generatorLoss), number(p.discriminatorLoss), p.samplesPerSecond)
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        configuration.onCheckpoint = { _ in events?.flush() }
        configuration.onSamples = { step, images in grids.write(images, step: step) }
        configuration.onStepCompleted = { step, total, model in
            monitor?.stepCompleted(step: step, totalSteps: total, model: model)
            send(grids.takeWritten())
        }
        if let curve {
            configuration.curveSecretKey = curve.secretKey
            configuration.authorizedKeys = curve.admittedKeys.keys.sorted()
        }
        let dataset = try options.loadTrainingSet(workers: workers)
        try RunFolder.prepare(runDir, subfolders: ["checkpoints", "samples"])
        let coordinator = try Coordinator(configuration: configuration, datasetCount: dataset.count, log: logLine)
        ProcessLog.place.update(step: coordinator.resumedFrom)
        events?.begin(source: "coordinator", generation: coordinator.generation)
        events?.recordGeneration(coordinator.generation, resumedFrom: coordinator.resumedFrom, settings: coordinator.generationSettings)
        // A kill between a checkpoint and its step's grid lost that grid: the restored model
        // draws the same one again (training is deterministic).
        if let images = coordinator.samplesAtResume(), !grids.exists(step: coordinator.resumedFrom) {
            grids.write(images, step: coordinator.resumedFrom)
        }
        // Stopped: the coordinator has checkpointed and said so in its last line.
        guard try coordinator.run(stop: signals.flag) else { throw ExitCode(130) }
        // As under `agon run`: the final checkpoint's latent views, for the aggregator's report.
        if !noLatentViews { Latent.drawAfterRun(runDirectory: runDir, data: options.data, role: "coordinator") }
    }
}
