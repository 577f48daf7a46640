// `agon classifier train|evaluate`: the Fashion-MNIST classifier whose features sample-quality
// metrics use, trained and measured on one thread.
import AgonNN
import AgonTensor
import AgonTraining
import ArgumentParser
import Foundation

struct ClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train or evaluate the classifier whose features sample-quality metrics use.",
        subcommands: [ClassifierTrain.self, ClassifierEvaluate.self])
}

/// The data set split as the classifier needs it, or one clear line saying why not.
private func loadSplit(_ split: ImageDataset.Split, from directory: String) throws -> ImageDataset {
    let dataset = try ImageDataset.load(directory: directory, split: split)
    guard dataset.height == 28, dataset.width == 28, dataset.classes <= Classifier.classes, dataset.count > 0 else {
        throw RuntimeError("""
            \(directory): the \(split.rawValue) split holds \(dataset.count) images of \(dataset.height)×\(dataset.width) \
            in \(dataset.classes) classes; the classifier needs 28×28 images in at most \(Classifier.classes) classes
            """)
    }
    return dataset
}

private func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }

struct ClassifierTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the classifier on the train split on one thread, report its test accuracy and save it.",
        discussion: """
        Prints the mean loss every 100 steps and the test (t10k) accuracy after each epoch. The \
        file holds the parameters under c/ (c/0_conv2d/kernel, …) and the run's settings and \
        test accuracy as metadata.
        """)

    @Option(help: "Folder of IDX files (train-… and t10k-…images/labels, optionally .gz).")
    var data: String = ImageDataset.defaultDirectory

    @Option(help: "Epochs to train.")
    var epochs: Int = 6

    @Option(help: "Images per step.")
    var batch: Int = 64

    @Option(name: .customLong("lr"), help: "Adam learning rate.")
    var learningRate: Float = 1e-3

    @Option(help: "Seed of the initial weights, the Dropout masks and the training order.")
    var seed: UInt64 = 1

    @Option(help: "The .safetensors file to write.")
    var out: String

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--lr must be a positive number") }
        let folder = (out as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) else {
            throw ValidationError("--out \(out): the folder \(folder) does not exist")
        }
    }

    func run() throws {
        let train = try loadSplit(.train, from: data)
        let test = try loadSplit(.test, from: data)
        guard train.count >= batch else {
            throw RuntimeError("\(data): \(train.count) training images are fewer than one --batch of \(batch)")
        }
        let classifier = Classifier(engine: Engine(threads: 1), seed: seed)
        let stepsPerEpoch = Classifier.stepsPerEpoch(examples: train.count, batch: batch)
        print("agon classifier train: \(classifier.network.trainableCount) parameters, \(train.count) training images, "
              + "\(epochs) epochs of \(stepsPerEpoch) steps at batch \(batch), lr \(learningRate), seed \(seed), 1 thread")
        let clock = ContinuousClock()
        let start = clock.now
        var window = (sum: 0.0, count: 0)
        var accuracy = 0.0
        try classifier.train(dataset: train, epochs: epochs, batch: batch, learningRate: learningRate) { epoch, step, loss in
            window.sum += Double(loss)
            window.count += 1
            if step % 100 == 0 || step == stepsPerEpoch {
                let elapsed = (clock.now - start).seconds
                print(String(format: "epoch %d step %d/%d  loss %.4f  %.0f s", epoch, step, stepsPerEpoch,
                             window.sum / Double(window.count), elapsed))
                window = (0, 0)
            }
            if step == stepsPerEpoch {
                accuracy = classifier.accuracy(on: test)
                print("epoch \(epoch): test accuracy \(percent(accuracy)) (\(test.count) t10k images)")
            }
            fflush(nil)  // progress lines appear as they happen, even through a pipe
        }
        let seconds = (clock.now - start).seconds
        print(String(format: "test accuracy %@ after %d epochs, %.0f s", percent(accuracy), epochs, seconds))
        try classifier.save(to: out, metadata: [
            "test_accuracy": String(format: "%.4f", accuracy), "learning_rate": String(learningRate),
            "batch": String(batch), "threads": "1",
            "command": (["agon"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            "input": "28x28x1 images scaled from bytes to [-1, 1] (x = byte / 127.5 - 1)",
        ])
        print("saved \(out)")
    }
}

struct ClassifierEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Print a saved classifier's accuracy on the test (t10k) split.")

    @Option(help: "A .safetensors file written by `agon classifier train`.")
    var model: String

    @Option(help: "Folder of IDX files (t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]).")
    var data: String = ImageDataset.defaultDirectory

    func run() throws {
        let classifier = try Classifier.load(path: model, engine: Engine(threads: 1))
        let test = try loadSplit(.test, from: data)
        print("test accuracy \(percent(classifier.accuracy(on: test))) (\(test.count) t10k images)")
    }
}
