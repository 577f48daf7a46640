// `agon latent RUN`: where a checkpoint's samples fall against real data. PCA and t-SNE of
// real and generated classifier features, latent interpolations, and nearest real neighbours,
// under RUN/plots/ and, per checkpoint, RUN/plots/latent/step-NNNNNNNN/.
import AgonTraining
import ArgumentParser
import Foundation

struct Latent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw PCA, t-SNE, latent interpolation and nearest-neighbour views of a run's checkpoints.",
        discussion: """
        For the newest checkpoint in RUN/checkpoints (or --checkpoint FILE), generates --samples \
        images, takes as many real test images, and embeds both sets' classifier features with \
        PCA and t-SNE (exact up to 2,000 points, Barnes-Hut above), coloured by class (the label \
        for real images, the classifier's prediction for generated ones) and by real or generated. \
        It also draws G along straight and spherical paths between fixed latent vectors, and \
        generated samples beside their nearest training images in feature space. Files: \
        RUN/plots/{pca,tsne}.{png,svg}, interpolation.png and nearest.png, and the same under \
        RUN/plots/latent/step-NNNNNNNN/ for each checkpoint drawn.
        """)

    @Argument(help: ArgumentHelp("The run folder (agon run --run-dir, or agon train --run-dir).", valueName: "run"))
    var runDirectory: String

    @Option(help: "The checkpoint to draw (default: the newest in RUN/checkpoints).")
    var checkpoint: String?

    @Flag(help: "Draw every checkpoint in RUN/checkpoints that has no views yet.")
    var all = false

    @Option(parsing: .unconditional, help: "Generated and real samples embedded (at most the test split's 10,000).")
    var samples: Int = 1000

    @Option(parsing: .unconditional, help: "Training images searched for each generated sample's nearest neighbours.")
    var references: Int = 10_000

    @Option(help: "The feature extractor (default: models/fashion-mnist-classifier.safetensors under $AGON_HOME, above the agon executable, or here).")
    var classifier: String?

    @Option(help: "Folder of IDX files (test images are embedded, training images are the neighbours).")
    var data: String = ImageDataset.defaultDirectory

    @Option(help: "Seed of the latent vectors, the interpolation end points and t-SNE's start.")
    var seed: UInt64 = 1

    func validate() throws {
        guard samples >= 10 else { throw ValidationError("--samples must be at least 10, got \(samples)") }
        guard references >= 5 else { throw ValidationError("--references must be at least 5, got \(references)") }
        guard !(all && checkpoint != nil) else { throw ValidationError("--all and --checkpoint exclude each other") }
    }

    func run() throws {
        let checkpoints = try chosenCheckpoints()
        let views = try LatentViews(configuration: configuration)
        for path in checkpoints.draw {
            let started = Date()
            let step = try views.draw(checkpoint: path, runDirectory: runDirectory)
            logLine("agon latent: step \(step) (\(path)) drawn in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
        if checkpoints.draw.isEmpty { logLine("agon latent: every checkpoint in \(runDirectory)/checkpoints has its views already") }
        if let newest = checkpoints.current { try views.publish(checkpoint: newest, runDirectory: runDirectory) }
        logLine("agon latent: views in \(runDirectory)/plots, history in \(runDirectory)/plots/latent")
    }

    private var configuration: LatentViews.Configuration {
        LatentViews.Configuration(samples: samples, references: references, classifier: classifier, data: data, seed: seed)
    }

    /// The checkpoints to draw, and the one whose views go to RUN/plots.
    private func chosenCheckpoints() throws -> (draw: [String], current: String?) {
        let directory = runDirectory + "/checkpoints"
        if let checkpoint {
            guard FileManager.default.fileExists(atPath: checkpoint) else {
                throw RuntimeError("\(checkpoint): no such checkpoint file")
            }
            return ([checkpoint], checkpoint)
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
        guard let newest = Checkpoint.latest(in: directory) ?? files.last.map({ directory + "/" + $0 }) else {
            throw RuntimeError("\(runDirectory): no checkpoints in \(directory); train first (agon run --run-dir \(runDirectory), or agon train --run-dir \(runDirectory))")
        }
        guard all else { return ([newest], newest) }
        let missing = files.map { directory + "/" + $0 }.filter { !LatentViews.hasViews(checkpoint: $0, runDirectory: runDirectory) }
        return (missing, newest)
    }

    /// At the end of a run (the coordinator's, under `agon run` or started by hand): the views
    /// of the final checkpoint, so that the aggregator's last report can show them. Never fails
    /// the run: what went wrong is logged, as `role`, with the command that draws them later.
    static func drawAfterRun(runDirectory: String, data: String, role: String) {
        let started = Date()
        do {
            guard let checkpoint = Checkpoint.latest(in: runDirectory + "/checkpoints") else {
                logLine("\(role): no latent views: the run left no checkpoint")
                return
            }
            // Half the samples and references of `agon latent`'s defaults: a few seconds more on
            // the run, not tens; `agon latent RUN` draws the full views.
            let views = try LatentViews(configuration: LatentViews.Configuration(samples: 500, references: 5000, data: data))
            let step = try views.draw(checkpoint: checkpoint, runDirectory: runDirectory)
            try views.publish(checkpoint: checkpoint, runDirectory: runDirectory)
            logLine("\(role): latent views of step \(step) in \(runDirectory)/plots (\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
        } catch {
            logLine("\(role): no latent views (\(error)); draw them later with agon latent \(runDirectory)")
        }
    }
}
