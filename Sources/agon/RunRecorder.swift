// Where a single-process run's output goes: metrics CSV, sample grid PNGs, checkpoint lines,
// and progress on the terminal (a bar when stderr is a terminal, plain lines otherwise).
import AgonPlot
import AgonTensor
import AgonTraining
import Foundation

/// Writes what `Trainer` reports into a run folder and shows progress.
final class RunRecorder: TrainingObserver {
    let directory: String
    private let csv: FileHandle
    private let interactive = isatty(STDERR_FILENO) == 1
    private let started = ContinuousClock.now
    private var lastReport = ContinuousClock.now
    private var stepsSinceReport = 0
    private var lastMetrics = StepMetrics()

    init(directory: String, resuming: Bool) throws {
        self.directory = directory
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/samples", withIntermediateDirectories: true)
        let path = directory + "/metrics.csv"
        if !resuming || !fm.fileExists(atPath: path) {
            let header = "step," + StepMetrics().namedValues.map(\.tag).joined(separator: ",") + "\n"
            guard fm.createFile(atPath: path, contents: Data(header.utf8)) else {
                throw TrainingError(.unreadableFile, path: path, "cannot create the metrics file; is the folder writable?")
            }
        }
        csv = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try csv.seekToEnd()
    }

    func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func didStep(_ metrics: StepMetrics, of total: Int) throws {
        var row = String(metrics.step)
        for (_, value) in metrics.namedValues { row += "," + String(Float(value)) }
        try csv.write(contentsOf: Data((row + "\n").utf8))
        lastMetrics = metrics
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
        try writeSampleGrid(images, step: step, runDirectory: directory)
    }

    func didCheckpoint(step: Int, path: String) throws {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        log("checkpoint after step \(step): \(path)")
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        try? csv.close()
        let seconds = (ContinuousClock.now - started).seconds
        log(String(format: "done: %d steps in %.1f s; last G loss %.4f, D loss %.4f; samples in %@/samples",
                   lastMetrics.step, seconds, lastMetrics.generatorLoss, lastMetrics.discriminatorLoss, directory))
    }
}

/// `RUN/samples/step-NNNNNNNN.png`, the sample grid after `step`, with its folder made.
func sampleGridPath(step: Int, runDirectory: String) throws -> String {
    try FileManager.default.createDirectory(atPath: runDirectory + "/samples", withIntermediateDirectories: true)
    return runDirectory + "/samples/" + String(format: "step-%08d.png", step)
}

/// Writes G's images after `step` as `RUN/samples/step-NNNNNNNN.png`.
func writeSampleGrid(_ images: Tensor, step: Int, runDirectory: String) throws {
    let path = try sampleGridPath(step: step, runDirectory: runDirectory)
    let grid = ImageGrid(images: images.scalars, count: images.rows, height: images.shape[1], width: images.shape[2])
    try grid.writePNG(to: path)
}
