// Classifier: output and feature shapes, its loss gradient against finite differences, training
// that lowers the loss, the safetensors round trip and its errors, and the committed model's
// accuracy on Fashion-MNIST's test images.
import AgonNN
import AgonTensor
import AgonTraining
import Foundation
import Testing

/// `count` images uniform in [−1, 1], the same for the same counter.
private func randomImages(_ count: Int, counter: UInt32) -> Tensor {
    let images = Tensor(zeros: [count] + Classifier.imageShape)
    CounterRandom(seed: 99).fillUniform(images.pointer, count: images.count, low: -1, high: 1, stream: .fixedNoise, counter, 0)
    return images
}

/// 256 synthetic 28×28 images whose class k shows a bright band at rows 2k…2k+5 over noise:
/// learnable in a few steps, and no data set needed.
private func bandedDataset() -> ImageDataset {
    let count = 256, size = 28 * 28
    let noise = Tensor(zeros: [count * size])
    CounterRandom(seed: 5).fillUniform(noise.pointer, count: noise.count, low: 0, high: 80, stream: .fixedNoise, 0, 0)
    var pixels = [UInt8](repeating: 0, count: count * size)
    var labels = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        let label = i % Classifier.classes
        labels[i] = UInt8(label)
        for p in 0..<size {
            let row = p / 28
            let band = row >= 2 * label && row < 2 * label + 6
            pixels[i * size + p] = band ? 230 : UInt8(noise[i * size + p])
        }
    }
    return ImageDataset(images: pixels, labels: labels, height: 28, width: 28)
}

/// A fresh empty folder under the system's temporary directory.
private func temporaryFolder() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("agon-classifier-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The package root, three levels above this file.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
private let committedModel = packageRoot.appendingPathComponent("models/fashion-mnist-classifier.safetensors").path
private let datasetPresent = FileManager.default.fileExists(atPath: ImageDataset.defaultDirectory)

@Suite struct ClassifierTests {
    let engine = Engine(threads: 1)

    @Test func namesItsParametersUnderTheClassifierPrefix() {
        let names = Classifier(engine: engine).network.namedParameters.map(\.name)
        #expect(names == ["c/0_conv2d/kernel", "c/0_conv2d/bias", "c/1_conv2d/kernel", "c/1_conv2d/bias",
                          "c/2_conv2d/kernel", "c/2_conv2d/bias", "c/4_dense/kernel", "c/4_dense/bias",
                          "c/6_dense/kernel", "c/6_dense/bias"])
    }

    @Test func outputsHaveTheirShapesAndChunkingChangesNothing() {
        let classifier = Classifier(engine: engine, seed: 3)
        // More than one inference batch, so the last chunk is a short one.
        let count = Classifier.inferenceBatch + 10
        let images = randomImages(count, counter: 1)
        let logits = classifier.logits(images)
        let features = classifier.features(images)
        let probabilities = classifier.probabilities(images)
        #expect(logits.shape == [count, 10])
        #expect(features.shape == [count, 128])
        #expect(probabilities.shape == [count, 10])
        #expect(features.scalars.allSatisfy { $0 >= 0 }, "features come after a ReLU")
        for row in [0, count - 1] {
            let sum = (0..<10).reduce(Float(0)) { $0 + probabilities[row * 10 + $1] }
            #expect(abs(sum - 1) < 1e-5)
        }
        // The last 10 images alone give the rows the chunked pass gave them.
        let tail = Tensor(zeros: [10, 28, 28, 1])
        tail.copy(from: images.pointer + (count - 10) * 784)
        let alone = classifier.logits(tail)
        for i in 0..<100 {
            #expect(abs(alone[i] - logits[(count - 10) * 10 + i]) <= 1e-5 * max(1, abs(alone[i])))
        }
        // The logits are the last layer applied to the features: z = f · W + b.
        let dense = classifier.network.layers[6] as! Dense
        for (row, k) in [(0, 0), (7, 9), (count - 1, 4)] {
            var z = Double(dense.bias!.value[k])
            for j in 0..<128 { z += Double(features[row * 128 + j]) * Double(dense.kernel.value[j * 10 + k]) }
            #expect(abs(z - Double(logits[row * 10 + k])) < 1e-4, "logit [\(row), \(k)]")
        }
        #expect(classifier.features(Tensor(zeros: [0, 784])).shape == [0, 128])
    }

    @Test func lossGradientMatchesFiniteDifferences() {
        let classifier = Classifier(engine: engine, seed: 4)
        let images = randomImages(4, counter: 2)
        let labels = [3, 0, 9, 3]
        _ = classifier.computeGradients(images: images, labels: labels, step: 5)
        // The same loss in Double from the logits, Dropout on with the same masks: the Float
        // loss's rounding (≈ 2e-7 at 2.3) would swamp differences over steps small enough to
        // cross few ReLU kinks, with 4 × 784 activations per channel.
        let context = ForwardContext(training: true, step: 5)
        func loss() -> Double {
            let z = classifier.network.forward(images, context: context)
            return labels.indices.reduce(0.0) { total, b in
                let row = (0..<10).map { Double(z[b * 10 + $0]) }
                let m = row.max()!
                return total + m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[labels[b]]
            } / Double(labels.count)
        }
        // Kinks crossed symmetrically leave a few percent of noise on the convolutions' small
        // gradients, so each sampled tensor is compared as a whole: a wrong sign, scale or
        // missing term is far outside 10 %.
        let base = loss()
        let h: Float = 1e-4
        var checked = 0, skipped = 0
        for (t, (name, parameter)) in classifier.network.namedParameters.enumerated() {
            let analytic = parameter.gradient!.scalars
            let sample = CounterRandom(seed: 8).permutation(parameter.value.count, stream: .shuffle, UInt32(t)).prefix(12)
            var difference = 0.0, norm = 0.0, worst = ""
            for i in sample {
                let saved = parameter.value[i]
                parameter.value[i] = saved + h
                let plus = loss()
                parameter.value[i] = saved - h
                let minus = loss()
                parameter.value[i] = saved
                let step = (Double(saved + h) - Double(saved - h)) / 2
                let numeric = (plus - minus) / (2 * step)
                // A kink within the step shows as one-sided differences that disagree.
                if abs((plus - base) - (base - minus)) / step > 5e-4 + 2e-2 * abs(numeric) { skipped += 1; continue }
                let a = Double(analytic[i])
                difference += (a - numeric) * (a - numeric)
                norm += numeric * numeric
                if worst.isEmpty || abs(a - numeric) > 1e-4 { worst = "[\(i)]: analytic \(a), finite difference \(numeric)" }
                checked += 1
            }
            #expect(difference.squareRoot() <= 0.1 * norm.squareRoot() + 1e-5,
                    "\(name): relative error \(difference.squareRoot() / norm.squareRoot()) over the sample, e.g. \(worst)")
        }
        #expect(skipped * 4 <= checked, "\(skipped) sampled entries sat on ReLU kinks, \(checked) checked")
    }

    @Test func trainingLowersTheLossAndIsSeeded() throws {
        let data = bandedDataset()
        let images = Tensor(zeros: [data.count] + Classifier.imageShape)
        data.fillImages(indices: 0..<data.count, into: images.pointer)
        let labels = data.labels(at: 0..<data.count)
        let classifier = Classifier(engine: engine, seed: 6)
        let before = classifier.loss(images: images, labels: labels)
        var seen: [[Int]] = []
        try classifier.train(dataset: data, epochs: 2, batch: 32, learningRate: 2e-3) { epoch, step, loss in
            seen.append([epoch, step])
            #expect(loss.isFinite)
        }
        let after = classifier.loss(images: images, labels: labels)
        #expect(after < 0.5 * before, "loss \(before) → \(after) after 16 steps")
        #expect(seen.count == 16 && seen.first! == [1, 1] && seen.last! == [2, 8])
        #expect(classifier.epochsTrained == 2 && classifier.stepsTrained == 16)

        let again = Classifier(engine: engine, seed: 6)
        try again.train(dataset: data, epochs: 2, batch: 32, learningRate: 2e-3)
        for (a, b) in zip(classifier.network.trainableParameters, again.network.trainableParameters) {
            #expect(a.value.scalars == b.value.scalars, "same seed, same data: the same weights")
        }
    }

    @Test func saveAndLoadGiveIdenticalLogits() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let classifier = Classifier(engine: engine, seed: 7)
        try classifier.train(dataset: bandedDataset(), epochs: 1, batch: 64, learningRate: 1e-3)
        let path = folder + "/model.safetensors"
        try classifier.save(to: path, metadata: ["note": "round trip"])
        let loaded = try Classifier.load(path: path, engine: engine)
        let images = randomImages(12, counter: 3)
        #expect(loaded.logits(images).scalars == classifier.logits(images).scalars)
        #expect(loaded.metadata["note"] == "round trip" && loaded.metadata["format"] == Classifier.fileFormat)
        #expect(loaded.seed == 7 && loaded.epochsTrained == 1 && loaded.stepsTrained == 4)
    }

    @Test func loadNamesTheFileAndWhatIsWrong() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tensors = Classifier(engine: engine).network.namedParameters.map { (name: $0.name, tensor: $0.parameter.value) }

        func failure(_ file: SafeTensors, _ name: String) throws -> CheckpointError {
            let path = folder + "/" + name
            try file.write(to: path)
            let error = try #require(throws: CheckpointError.self) { try Classifier.load(path: path, engine: engine) }
            #expect(error.message.hasPrefix(path + ":"), "\(error.message)")
            return error
        }
        var wrongShape = tensors
        wrongShape[6] = (name: "c/4_dense/kernel", tensor: Tensor(zeros: [3136, 64]))
        let shape = try failure(SafeTensors(tensors: wrongShape), "shape.safetensors")
        #expect(shape.code == .sizeMismatch && shape.message.contains("c/4_dense/kernel"))

        let missing = try failure(SafeTensors(tensors: Array(tensors.dropLast())), "missing.safetensors")
        #expect(missing.code == .invalidHeader && missing.message.contains("c/6_dense/bias"))

        let extra = try failure(SafeTensors(tensors: tensors + [(name: "d/0_dense/kernel", tensor: Tensor(zeros: [1]))]),
                                "extra.safetensors")
        #expect(extra.code == .invalidHeader && extra.message.contains("d/0_dense/kernel"))

        let format = try failure(SafeTensors(metadata: ["format": "agon-checkpoint-1"], tensors: tensors), "format.safetensors")
        #expect(format.code == .invalidMetadata)

        let absent = try #require(throws: CheckpointError.self) {
            try Classifier.load(path: folder + "/absent.safetensors", engine: engine)
        }
        #expect(absent.code == .io && absent.message.contains("absent.safetensors"))
    }

    @Test(.enabled(if: datasetPresent, "Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"))
    func committedModelClassifiesTheTestImages() throws {
        let classifier = try Classifier.load(path: committedModel, engine: engine)
        let test = try ImageDataset.load(split: .test)
        let first = 2000
        let subset = ImageDataset(images: Array(test.images.prefix(first * 784)), labels: Array(test.labels.prefix(first)),
                                  height: 28, width: 28)
        let accuracy = classifier.accuracy(on: subset)
        #expect(accuracy >= 0.88, "accuracy \(accuracy) on the first \(first) test images")
    }
}
