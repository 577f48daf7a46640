// The flags every training verb shares (`agon train`, later `agon run` and `agon coordinator`).
import AgonNN
import AgonTraining
import ArgumentParser
import Foundation

extension GANModel.Kind: ExpressibleByArgument {}
extension UpdateMode: ExpressibleByArgument {}

/// Model, data, batch, length, seed and optimizer flags.
struct TrainingOptions: ParsableArguments {
    @Option(help: "The GAN: mlp (default; G ends in tanh), seed-mlp (the seed article's, G ends in sigmoid) or dcgan.")
    var model: GANModel.Kind = .mlp

    @Option(parsing: .unconditional, help: "Samples per step (per worker).")
    var batch: Int = 64

    @Option(parsing: .unconditional, help: "Steps to train (default: one epoch, or --epochs).")
    var steps: Int?

    @Option(parsing: .unconditional, help: "Epochs to train, when --steps is not given.")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Seed of initialisation, shuffling and noise.")
    var seed: UInt64 = 1

    @Option(name: .customLong("lr"), parsing: .unconditional, help: "Adam learning rate of G, and of D unless --d-lr is given.")
    var learningRate: Float = 1e-4

    @Option(name: .customLong("d-lr"), parsing: .unconditional, help: "Adam learning rate of D (default: --lr).")
    var discriminatorLearningRate: Float?

    @Option(help: ArgumentHelp("Train only on the images of these label classes, comma-separated (e.g. 0,3; default: all).",
                               valueName: "labels"),
            transform: TrainingOptions.parseClasses)
    var classes: [Int]?

    @Option(name: .customLong("inject-nan-at"), parsing: .unconditional, help: ArgumentHelp("For testing alarms: make G's loss and gradients NaN at this step (1-based).", valueName: "step"))
    var injectNaNAt: Int?

    @Option(help: "simultaneous (both gradients from one pass, as the classic TensorFlow loop) or alternating (D, then G).")
    var update: UpdateMode = .simultaneous

    @Option(help: "Folder of IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]).")
    var data: String = ImageDataset.defaultDirectory

    @Option(parsing: .unconditional, help: "Write a sample grid every N steps.")
    var sampleEvery: Int = 500

    @Option(parsing: .unconditional, help: "Write a checkpoint every N steps (0: only at the end).")
    var checkpointEvery: Int = 1000

    @Option(parsing: .unconditional, help: "DCGAN: divide every channel width by this (8 gives the reference fixtures' size).")
    var widthDivisor: Int = 1

    @Option(parsing: .unconditional, help: "DCGAN: the discriminator's dropout rate (0 leaves Dropout out).")
    var dropout: Float = 0.3

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let steps, let epochs {
            throw ValidationError("--steps \(steps) and --epochs \(epochs) exclude each other: give one of them")
        }
        guard sampleEvery >= 1 else { throw ValidationError("--sample-every must be at least 1, got \(sampleEvery)") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must not be negative, got \(checkpointEvery)") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--lr must be a positive number, got \(learningRate)") }
        if let rate = discriminatorLearningRate, !(rate > 0 && rate.isFinite) {
            throw ValidationError("--d-lr must be a positive number, got \(rate)")
        }
        if let injectNaNAt, injectNaNAt < 1 { throw ValidationError("--inject-nan-at must be a step, at least 1, got \(injectNaNAt)") }
        guard widthDivisor >= 1, 256 % widthDivisor == 0 else { throw ValidationError("--width-divisor must divide 256, got \(widthDivisor)") }
        guard dropout >= 0, dropout < 1 else { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
    }

    /// The same options as command-line arguments, to hand to a child process.
    var arguments: [String] {
        var list = ["--model", model.rawValue, "--batch", String(batch), "--seed", String(seed), "--lr", String(learningRate),
                    "--update", update.rawValue, "--data", data, "--sample-every", String(sampleEvery),
                    "--checkpoint-every", String(checkpointEvery), "--width-divisor", String(widthDivisor), "--dropout", String(dropout)]
        if let steps { list += ["--steps", String(steps)] }
        if let epochs { list += ["--epochs", String(epochs)] }
        if let discriminatorLearningRate { list += ["--d-lr", String(discriminatorLearningRate)] }
        if let classes { list += ["--classes", Self.list(classes)] }
        if let injectNaNAt { list += ["--inject-nan-at", String(injectNaNAt)] }
        return list
    }

    var configuration: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.model = model; c.batch = batch; c.steps = steps; c.epochs = epochs; c.seed = seed
        c.learningRate = learningRate; c.update = update; c.dataDirectory = data
        c.sampleEvery = sampleEvery; c.checkpointEvery = checkpointEvery
        c.widthDivisor = widthDivisor; c.dropout = dropout
        c.discriminatorLearningRate = discriminatorLearningRate; c.classes = classes; c.injectNaNAt = injectNaNAt
        return c
    }

    /// Parses `--classes`: distinct labels from 0 to 255, comma-separated, in any order.
    static func parseClasses(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var labels: [Int] = []
        for part in parts {
            guard let label = Int(part), (0...255).contains(label) else {
                throw ValidationError("--classes takes labels from 0 to 255 separated by commas (e.g. 0,3), got \(text)")
            }
            guard !labels.contains(label) else { throw ValidationError("--classes names label \(label) twice") }
            labels.append(label)
        }
        return labels.sorted()
    }

    /// The training images, kept to `--classes` when given; throws a one-line usage error, before
    /// any training, when a label has no images or too few remain for one step of `workers`
    /// workers.
    func loadTrainingSet(workers: Int = 1) throws -> ImageDataset {
        let dataset = try ImageDataset.load(directory: data, split: .train)
        var kept = dataset
        if let classes {
            let present = Set(dataset.labels.map(Int.init))
            let absent = classes.filter { !present.contains($0) }
            guard absent.isEmpty else {
                throw ValidationError("--classes \(Self.list(classes)): no training image in \(data) has label\(absent.count > 1 ? "s" : "") \(Self.list(absent)) (its labels: \(Self.list(present.sorted())))")
            }
            kept = dataset.filtered(classes: classes)
        }
        guard kept.count >= batch * workers else {
            let step = workers == 1 ? "--batch \(batch)" : "--batch \(batch) × --workers \(workers) = \(batch * workers)"
            let source = classes.map { "\(kept.count) training images have --classes \(Self.list($0))" } ?? "\(data) holds \(kept.count) training images"
            throw ValidationError("\(step): one step takes more images than the data set has; \(source)")
        }
        return kept
    }

    private static func list(_ labels: [Int]) -> String { labels.map(String.init).joined(separator: ",") }
}
