// A small CNN trained on Fashion-MNIST's labels, whose penultimate layer gives the features that
// sample-quality metrics compare: its architecture, inference, and its safetensors file.
// Training is in Classifier+Training.swift.
import AgonNN
import AgonTensor

/// A convolutional classifier of 28×28×1 images in [−1, 1] into 10 classes:
/// ```
/// 0  Conv2D(32, 3×3, stride 1, same, relu)   28×28×32
/// 1  Conv2D(64, 3×3, stride 2, same, relu)   14×14×64
/// 2  Conv2D(64, 3×3, stride 2, same, relu)   7×7×64
/// 3  Flatten                                 3136
/// 4  Dense(128, relu)                        128    ← the features
/// 5  Dropout(0.3), in training only
/// 6  Dense(10)                               10     logits
/// ```
/// Parameters are named as `Sequential` names them under the prefix `c`: `c/0_conv2d/kernel`,
/// `c/0_conv2d/bias`, …, `c/4_dense/kernel`, `c/6_dense/bias`; kernels start Glorot-uniform
/// from the seed, biases at zero (Keras's defaults).
///
/// Inference (`logits`, `features`, `probabilities`, `accuracy`) runs in batches of at most
/// `inferenceBatch` images, so memory does not grow with the number of images.
public final class Classifier {
    /// The per-sample input shape, `[28, 28, 1]` (NHWC).
    public static let imageShape = [28, 28, 1]
    /// The number of classes.
    public static let classes = 10
    /// The width of the features, the penultimate layer's output.
    public static let featureSize = 128
    /// The index in `network.layers` of the layer whose output is the features.
    public static let featureLayer = 4
    /// Dropout's rate before the last layer in training.
    public static let dropoutRate: Float = 0.3
    /// The prefix of every parameter name.
    public static let parameterPrefix = "c"
    /// The `format` metadata value of a classifier file.
    public static let fileFormat = "agon-classifier-1"
    /// The most images one inference pass takes: about 80 MB of activations at this size.
    public static let inferenceBatch = 250

    /// The network, whose parameters `save` writes and an optimizer updates.
    public let network: Sequential
    /// The seed of the initial weights, the Dropout masks and the training order.
    public let seed: UInt64
    /// The metadata of the file this classifier was loaded from; empty for a new one.
    public internal(set) var metadata: [String: String] = [:]
    /// Whole epochs trained so far; the next `train` continues with the next epoch's order.
    public internal(set) var epochsTrained = 0
    /// Optimizer steps taken so far.
    public internal(set) var stepsTrained = 0
    /// Adam, made by the first `train` and kept so that a second call continues its moments.
    var optimizer: Adam?
    /// dLoss/dlogits for each training batch size.
    var logitGradients: [Int: Tensor] = [:]

    /// A classifier with Keras's default initialisation drawn from `seed`.
    public init(engine: Engine, seed: UInt64 = 1) {
        self.seed = seed
        network = Sequential(name: Self.parameterPrefix, inputShape: Self.imageShape, layers: [
            Convolution2D(engine, inputShape: [28, 28, 1], filters: 32, kernelSize: (3, 3), strides: (1, 1),
                          padding: .same, activation: .relu),
            Convolution2D(engine, inputShape: [28, 28, 32], filters: 64, kernelSize: (3, 3), strides: (2, 2),
                          padding: .same, activation: .relu),
            Convolution2D(engine, inputShape: [14, 14, 64], filters: 64, kernelSize: (3, 3), strides: (2, 2),
                          padding: .same, activation: .relu),
            Reshape(flattening: 7 * 7 * 64),
            Dense(engine, inputSize: 7 * 7 * 64, outputSize: Self.featureSize, activation: .relu),
            Dropout(rate: Self.dropoutRate, seed: seed &+ 1),
            Dense(engine, inputSize: Self.featureSize, outputSize: Self.classes),
        ])
        precondition(network.layers[Self.featureLayer].outputShape(for: [7 * 7 * 64]) == [Self.featureSize],
                     "classifier: layer \(Self.featureLayer) is not the \(Self.featureSize)-wide feature layer")
        Initializer.initialize(network, seed: seed)
    }

    // MARK: Inference

    /// The logits of each image, `(N, 10)`, in inference mode (no dropout).
    ///
    /// - Precondition: `images` is `(N, 28, 28, 1)` or `(N, 784)`, N ≥ 0.
    public func logits(_ images: Tensor) -> Tensor {
        run(images, layerCount: network.layers.count, width: Self.classes)
    }

    /// The penultimate layer's activations for each image, `(N, 128)`, in inference mode: the
    /// features that sample-quality metrics compare.
    public func features(_ images: Tensor) -> Tensor {
        run(images, layerCount: Self.featureLayer + 1, width: Self.featureSize)
    }

    /// The softmax of the logits, `(N, 10)`: each row is a probability over the classes.
    public func probabilities(_ images: Tensor) -> Tensor {
        let result = logits(images)
        if result.rows > 0 { SoftmaxCrossEntropy.softmax(result, into: result) }
        return result
    }

    /// The fraction of `dataset`'s images whose largest logit is at their label, in [0, 1].
    ///
    /// - Precondition: the dataset holds 28×28 images and at least one of them.
    public func accuracy(on dataset: ImageDataset) -> Double {
        precondition(dataset.height == 28 && dataset.width == 28 && dataset.count > 0,
                     "classifier: accuracy needs 28×28 images, got \(dataset.count) of \(dataset.height)×\(dataset.width)")
        var correct = 0
        var start = 0
        while start < dataset.count {
            let indices = start..<min(start + Self.inferenceBatch, dataset.count)
            let images = Tensor(zeros: [indices.count] + Self.imageShape)
            dataset.fillImages(indices: indices, into: images.pointer)
            correct += SoftmaxCrossEntropy.correctCount(logits: logits(images), labels: dataset.labels(at: indices))
            start = indices.upperBound
        }
        return Double(correct) / Double(dataset.count)
    }

    /// Runs the first `layerCount` layers over `images` in chunks of `inferenceBatch`; the
    /// output of the last of them is `width` wide.
    private func run(_ images: Tensor, layerCount: Int, width: Int) -> Tensor {
        let pixels = Self.imageShape.reduce(1, *)
        precondition(images.shape.count >= 2 && images.rowLength == pixels,
                     "classifier: images must be (N, 28, 28, 1) or (N, 784), got \(images.shape)")
        let count = images.rows
        let result = Tensor(zeros: [count, width])
        var start = 0
        while start < count {
            let size = min(Self.inferenceBatch, count - start)
            let chunk = Tensor(zeros: [size] + Self.imageShape)
            chunk.copy(from: images.pointer + start * pixels)
            var x = chunk
            for layer in network.layers.prefix(layerCount) { x = layer.forward(x, context: .inference) }
            (result.pointer + start * width).update(from: x.pointer, count: size * width)
            start += size
        }
        return result
    }
}

// MARK: - The file

extension Classifier {
    /// Writes every parameter under its name (`c/0_conv2d/kernel`, …) to a safetensors file at
    /// `path`, atomically, with `metadata` plus `format` = `agon-classifier-1`, the epochs and
    /// steps trained and the seed.
    ///
    /// - Throws: `CheckpointError` with code `.io` if the file cannot be written.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["format"] = Self.fileFormat
        meta["epochs"] = String(epochsTrained)
        meta["steps"] = String(stepsTrained)
        meta["seed"] = String(seed)
        let tensors = network.namedParameters.map { (name: $0.name, tensor: $0.parameter.value) }
        try SafeTensors(metadata: meta, tensors: tensors).write(to: path)
    }

    /// The classifier saved at `path`.
    ///
    /// The file must hold exactly the tensors `save` writes, with their shapes. The optimizer
    /// state is not saved: training a loaded classifier further starts Adam afresh.
    /// - Throws: `CheckpointError`: `.io` if the file cannot be read; any decoding error of
    ///   `SafeTensors`; `.invalidMetadata` if its `format` is another one; `.invalidHeader` for
    ///   a missing or unexpected tensor; `.sizeMismatch` for a tensor of the wrong shape. Each
    ///   message starts with `path`.
    public static func load(path: String, engine: Engine) throws -> Classifier {
        let file = try SafeTensors.read(path: path)
        if let format = file.metadata["format"], format != fileFormat {
            throw CheckpointError(.invalidMetadata, "\(path): format is \"\(format)\", not \"\(fileFormat)\"; is it a classifier file?")
        }
        let classifier = Classifier(engine: engine, seed: UInt64(file.metadata["seed"] ?? "") ?? 1)
        let expected = classifier.network.namedParameters
        for (name, parameter) in expected {
            guard let tensor = file[name] else {
                throw CheckpointError(.invalidHeader, "\(path): no tensor \(name); is it a classifier file of this version (\(fileFormat))?")
            }
            guard tensor.shape == parameter.shape else {
                throw CheckpointError(.sizeMismatch, "\(path): \(name) has shape \(tensor.shape), the classifier needs \(parameter.shape)")
            }
            parameter.value.copy(from: tensor)
        }
        let known = Set(expected.map(\.name))
        let unexpected = file.tensors.map(\.name).filter { !known.contains($0) }
        if let first = unexpected.first {
            throw CheckpointError(.invalidHeader,
                                  "\(path): unexpected tensor \(first)\(unexpected.count > 1 ? " and \(unexpected.count - 1) more" : ""); the classifier has only \(known.count) tensors under \(parameterPrefix)/")
        }
        classifier.metadata = file.metadata
        classifier.epochsTrained = Int(file.metadata["epochs"] ?? "") ?? 0
        classifier.stepsTrained = Int(file.metadata["steps"] ?? "") ?? 0
        return classifier
    }
}
