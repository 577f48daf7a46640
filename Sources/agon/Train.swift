// `agon train`: one replica in one process, no networking; checkpoints, metrics CSV and
// sample grids in the run folder.
import AgonTensor
import AgonTraining
import ArgumentParser
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one replica of a GAN in this process.",
        discussion: """
        Leaves in the run folder: checkpoints/ (safetensors, parameters named as Keras names \
        them), metrics.csv (one row per step) and samples/step-N.png (G on fixed noise).
        """)

    @OptionGroup var options: TrainingOptions

    @Option(help: "Folder for checkpoints, metrics and samples.")
    var runDir: String = "runs/train"

    @Flag(help: "Start afresh even if the run folder holds a checkpoint.")
    var restart = false

    func run() throws {
        let dataset = try options.loadTrainingSet()
        let engine = Engine(threads: 1)
        let trainer = Trainer(configuration: options.configuration, engine: engine, dataset: dataset)
        let checkpoints = runDir + "/checkpoints"
        let start = restart ? 0 : try trainer.resume(from: checkpoints)
        let recorder = try RunRecorder(directory: runDir, resuming: start > 0)
        let total = trainer.totalSteps
        let model = trainer.model
        recorder.log("agon train: \(options.model.rawValue) (G \(model.generator.trainableCount) parameters, D \(model.discriminator.trainableCount)), batch \(options.batch), \(total) steps\(start > 0 ? ", resuming after step \(start)" : ""), run folder \(runDir)")
        let signals = StopSignals()
        let done = try trainer.run(from: start, checkpointDirectory: checkpoints, observer: recorder, stop: signals.flag)
        recorder.finish()
        if done < total {
            // Stopped by a signal between steps: keep the last one.
            let saved = try trainer.checkpoint(step: done, unlessSavedIn: checkpoints)
            let note = saved.map { $0.written ? "checkpoint \($0.path)" : "checkpoint \($0.path) already holds it" } ?? "checkpoint: none (no step completed)"
            recorder.log("agon train: stopped after step \(done); \(note)")
            throw ExitCode(130)
        }
    }
}
