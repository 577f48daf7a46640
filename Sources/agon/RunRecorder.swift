// Where a single-process run's output goes: run.db (the same store the aggregator fills, so
// every run folder has one shape), metrics CSV, sample grid PNGs, checkpoint lines, and progress
// on the terminal (a bar when stderr is a terminal, plain lines otherwise).
import AgonNN
import AgonPlot
import AgonRunStore
import AgonTensor
import AgonTraining
import Foundation

/// Writes what `Trainer` reports into a run folder and shows progress.
///
/// Its events in `RUN/run.db` are those a worker of `agon run` sends: a `.worker` event, one
/// scalar event per step and the sample grids as images tagged `samples`, from the source
/// `worker-0`, as a new incarnation (numbered from 0) of the run's new generation; the
/// generation's announcement comes first, so what an earlier `agon train` stored past the
/// step this one resumed from is superseded.
final class RunRecorder: TrainingObserver {
    /// The source name of `agon train`'s events.
    static let source = "worker-0"
    /// Events are committed in batches of this many, and at every sample grid, checkpoint and end.
    private static let eventsPerCommit = 64

    let directory: String
    private let csv: FileHandle
    private let store: RunStore
    private var nextSequence: Int64 = 0
    private let incarnation = Int64(Date().timeIntervalSince1970 * 1_000_000)
    private let generation: Int64
    private var unstored: [RunEvent] = []
    /// A bar on a terminal; plain lines in a log (or JSON records, `--log-format json`).
    private let interactive: Bool
    private let started = ContinuousClock.now
    private var lastReport = ContinuousClock.now
    private var stepsSinceReport = 0
    private var lastMetrics = StepMetrics()

    /// Opens the run folder's files for a run that starts after step `start` (0: a fresh run)
    /// as `generation` of the run, with `settings` (JSON) recorded.
    init(directory: String, startingAfter start: Int, generation: Int64, settings: String, interactive: Bool) throws {
        self.directory = directory
        self.interactive = interactive
        self.generation = generation
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/samples", withIntermediateDirectories: true)
        store = try RunStore(path: directory + "/run.db")
        let path = directory + "/metrics.csv"
        if start == 0 || !fm.fileExists(atPath: path) {
            let header = "step," + StepMetrics().namedValues.map(\.tag).joined(separator: ",") + "\n"
            guard fm.createFile(atPath: path, contents: Data(header.utf8)) else {
                throw TrainingError(.unreadableFile, path: path, "cannot create the metrics file; is the folder writable?")
            }
        }
        csv = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try csv.seekToEnd()
        record(step: start, .generation(number: generation, resumedFrom: Int64(start), settings: settings))
        record(step: start, .worker(host: ProcessInfo.processInfo.hostName, pid: getpid(), rank: 0))
        try storeEvents()
    }

    /// Whatever a failed run leaves unstored is stored as it unwinds (a diverged step's values too).
    deinit { try? storeEvents() }

    /// Numbers an event of this run; it is stored at the next `storeEvents()`.
    private func record(step: Int, _ payload: RunEvent.Payload) {
        unstored.append(RunEvent(worker: Self.source, incarnation: incarnation, generation: generation, seq: nextSequence, step: Int64(step),
                                 wallTime: Date().timeIntervalSince1970, payload: payload))
        nextSequence += 1
    }

    /// Commits the recorded events to run.db in one transaction.
    private func storeEvents() throws {
        guard !unstored.isEmpty else { return }
        _ = try store.append(unstored)
        unstored.removeAll(keepingCapacity: true)
    }

    func log(_ line: String) {
        logLine(line)
    }

    func didStep(_ metrics: StepMetrics, of total: Int) throws {
        var row = String(metrics.step)
        for (_, value) in metrics.namedValues { row += "," + String(Float(value)) }
        try csv.write(contentsOf: Data((row + "\n").utf8))
        record(step: metrics.step, .scalars(metrics.namedValues.map { ScalarValue(tag: $0.tag, value: $0.value) }))
        if unstored.count >= Self.eventsPerCommit { try storeEvents() }
        lastMetrics = metrics
        ProcessLog.place.update(step: metrics.step)
        stepsSinceReport += 1
        let now = ContinuousClock.now
        let elapsed = (now - lastReport).seconds
        guard elapsed >= (interactive ? 0.2 : 5) || metrics.step == total else { return }
        let rate = Double(stepsSinceReport) / max(elapsed, 1e-9)
        let eta = Double(total - metrics.step) / max(rate, 1e-9)
        let text = String(format: "step %d/%d  %.0f steps/s  ETA %.0fs  G %.4f  D %.4f  acc real %.2f fake %.2f",
                          metrics.step, total, rate, eta, metrics.generatorLoss, metrics.discriminatorLoss,
                          metrics.accuracyReal, metrics.accuracyFake)
        if interactive {
            let width = 24, filled = width * metrics.step / max(total, 1)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[2K[\(bar)] \(text)".utf8))
        } else {
            log(text)
        }
        lastReport = now
        stepsSinceReport = 0
    }

    func didGenerateSamples(step: Int, images: Tensor) throws {
        let grid = ImageGrid(images: images.scalars, count: images.rows, height: images.shape[1], width: images.shape[2])
        let png = try grid.pngData()
        try writeFileAtomically(png, to: try sampleGridPath(step: step, runDirectory: directory))
        record(step: step, .image(tag: "samples", width: grid.pixelWidth, height: grid.pixelHeight, png: png))
        try storeEvents()
    }

    func didCheckpoint(step: Int, path: String) throws {
        try storeEvents()
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        log("checkpoint after step \(step): \(path)")
    }

    func finish() throws {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        try storeEvents()
        try? csv.close()
        let seconds = (ContinuousClock.now - started).seconds
        log(String(format: "done: %d steps in %.1f s; last G loss %.4f, D loss %.4f; samples in %@/samples",
                   lastMetrics.step, seconds, lastMetrics.generatorLoss, lastMetrics.discriminatorLoss, directory))
    }
}

/// `RUN/samples/step-NNNNNNNN.png`, the sample grid after `step`, with its folder made.
func sampleGridPath(step: Int, runDirectory: String) throws -> String {
    try FileManager.default.createDirectory(atPath: runDirectory + "/samples", withIntermediateDirectories: true)
    return sampleGridFile(step: step, runDirectory: runDirectory)
}

/// `RUN/samples/step-NNNNNNNN.png`, the file of the sample grid after `step`.
func sampleGridFile(step: Int, runDirectory: String) -> String {
    runDirectory + "/samples/" + String(format: "step-%08d.png", step)
}

