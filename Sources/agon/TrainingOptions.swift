// The flags every training verb shares (`agon train`, later `agon run` and `agon coordinator`).
import AgonNN
import AgonTraining
import ArgumentParser

extension GANModel.Kind: ExpressibleByArgument {}
extension UpdateMode: ExpressibleByArgument {}

/// Model, data, batch, length, seed and optimizer flags.
struct TrainingOptions: ParsableArguments {
    @Option(help: "The GAN: mlp (default; G ends in tanh), seed-mlp (the seed article's, G ends in sigmoid) or dcgan.")
    var model: GANModel.Kind = .mlp

    @Option(help: "Samples per step (per worker).")
    var batch: Int = 64

    @Option(help: "Steps to train (default: one epoch, or --epochs).")
    var steps: Int?

    @Option(help: "Epochs to train, when --steps is not given.")
    var epochs: Int?

    @Option(help: "Seed of initialisation, shuffling and noise.")
    var seed: UInt64 = 1

    @Option(name: .customLong("lr"), help: "Adam learning rate for both networks.")
    var learningRate: Float = 1e-4

    @Option(help: "simultaneous (both gradients from one pass, as the classic TensorFlow loop) or alternating (D, then G).")
    var update: UpdateMode = .simultaneous

    @Option(help: "Folder of IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]).")
    var data: String = ImageDataset.defaultDirectory

    @Option(help: "Write a sample grid every N steps.")
    var sampleEvery: Int = 500

    @Option(help: "Write a checkpoint every N steps (0: only at the end).")
    var checkpointEvery: Int = 1000

    @Option(help: "DCGAN: divide every channel width by this (8 gives the reference fixtures' size).")
    var widthDivisor: Int = 1

    @Option(help: "DCGAN: the discriminator's dropout rate (0 leaves Dropout out).")
    var dropout: Float = 0.3

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard sampleEvery >= 1 else { throw ValidationError("--sample-every must be at least 1, got \(sampleEvery)") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must not be negative") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--lr must be a positive number") }
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
        return list
    }

    var configuration: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.model = model; c.batch = batch; c.steps = steps; c.epochs = epochs; c.seed = seed
        c.learningRate = learningRate; c.update = update; c.dataDirectory = data
        c.sampleEvery = sampleEvery; c.checkpointEvery = checkpointEvery
        c.widthDivisor = widthDivisor; c.dropout = dropout
        return c
    }
}
