// `agon train`: one replica in one process, no networking; checkpoints, run.db, metrics CSV
// and sample grids in the run folder.
import AgonTensor
import AgonTraining
import ArgumentParser
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one replica of a GAN in this process.",
        discussion: """
        Leaves in the run folder: checkpoints/ (safetensors, parameters named as Keras names \
        them), run.db (the events agon plot draws, as an agon run's worker-0), metrics.csv (one \
        row per step) and samples/step-N.png (G on fixed noise).
        """)

    @OptionGroup var options: TrainingOptions

    @Option(help: "Folder for checkpoints, metrics and samples.")
    var runDir: String = "runs/train"

    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Start the run afresh: the run folder's old files are moved to RUN.restarted-DATE, out of the new run.")
    var restart = false

    func run() throws {
        let dataset = try options.loadTrainingSet()
        if restart {
            try RunFolder.moveAside(runDir, by: "agon train")
        } else {
            do {
                try RunRecord.checkResumable(runDirectory: runDir, settings: options.configuration, workers: 1)
            } catch let error as TrainingError where error.code == .settingsMismatch {
                throw ValidationError(error.message)
            }
        }
        try RunFolder.prepare(runDir, subfolders: ["checkpoints", "samples"])
        let engine = Engine(threads: 1)
        let trainer = Trainer(configuration: options.configuration, engine: engine, dataset: dataset)
        let checkpoints = runDir + "/checkpoints"
        let start = try trainer.resume(from: checkpoints)
        let (record, generation) = try RunRecord.beginGeneration(runDirectory: runDir, settings: options.configuration, workers: 1,
                                                                 resumedFrom: start, host: ProcessInfo.processInfo.hostName)
        for change in generation.changes { logLine("agon train: the run goes on with \(change)") }
        let recorder = try RunRecorder(directory: runDir, startingAfter: start, generation: generation.generation,
                                       settings: record.settingsJSON(of: generation),
                                       interactive: logging.drawsOnTerminal)
        ProcessLog.place.update(step: start)
        let total = trainer.totalSteps
        let model = trainer.model
        recorder.log("agon train: \(options.model.rawValue) (G \(model.generator.trainableCount) parameters, D \(model.discriminator.trainableCount)), batch \(options.batch), \(total) steps\(start > 0 ? ", resuming after step \(start)" : ""), run folder \(runDir)")
        let signals = StopSignals()
        let done = try trainer.run(from: start, checkpointDirectory: checkpoints, observer: recorder, stop: signals.flag)
        try recorder.finish()
        if done < total {
            // Stopped by a signal between steps: keep the last one.
            let saved = try trainer.checkpoint(step: done, unlessSavedIn: checkpoints)
            let note = saved.map { $0.written ? "checkpoint \($0.path)" : "checkpoint \($0.path) already holds it" } ?? "checkpoint: none (no step completed)"
            recorder.log("agon train: stopped after step \(done); \(note)")
            throw ExitCode(130)
        }
    }
}
