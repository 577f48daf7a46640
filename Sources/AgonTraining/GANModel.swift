// The model zoo: the seed article's MLP GAN, its tanh variant (the default), and the
// TensorFlow tutorial's DCGAN with width and dropout as parameters.
import AgonNN
import AgonTensor

/// A generator, a discriminator, the loss that joins them and the latent size.
public struct GANModel {
    /// The zoo's models.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// The seed article's MLP GAN exactly: G ends in a sigmoid.
        case seedMLP = "seed-mlp"
        /// The same sizes with G ending in tanh, matching data scaled to [−1, 1] (default).
        case mlp
        /// The TensorFlow DCGAN tutorial's GAN.
        case dcgan
    }

    public let kind: Kind
    public let generator: Sequential
    public let discriminator: Sequential
    public let loss: GANLoss
    public let latentSize: Int
    /// Per-sample image shape, [28, 28, 1].
    public let imageShape: [Int]

    /// Builds a model with Keras's default initialisation from `seed`.
    ///
    /// - Parameters:
    ///   - widthDivisor: DCGAN only: channel widths divided by this (the fixture uses 8).
    ///   - dropout: DCGAN only: D's dropout rate (0.3 in the tutorial; 0 leaves the layers out).
    public init(_ kind: Kind, engine: Engine, seed: UInt64, widthDivisor: Int = 1, dropout: Float = 0.3) {
        self.kind = kind
        latentSize = 100
        imageShape = [28, 28, 1]
        switch kind {
        case .seedMLP, .mlp:
            // The seed article scales images to [−1, 1] but ends G in a sigmoid, so D can tell
            // real from fake by the background alone (−1 real, ≥ 0 fake); `mlp` ends in tanh.
            let last: Activation = kind == .seedMLP ? .sigmoid : .tanh
            generator = Sequential(name: "g", inputShape: [100], layers: [
                Dense(engine, inputSize: 100, outputSize: 128, activation: .relu),
                Dense(engine, inputSize: 128, outputSize: 784, activation: last),
                Reshape([28, 28, 1]),
            ])
            discriminator = Sequential(name: "d", inputShape: [28, 28, 1], layers: [
                Reshape(flattening: 784),
                Dense(engine, inputSize: 784, outputSize: 128, activation: .relu),
                Dense(engine, inputSize: 128, outputSize: 1, activation: .sigmoid),
            ])
            loss = .binaryCrossEntropy
        case .dcgan:
            precondition(widthDivisor >= 1 && 256 % widthDivisor == 0, "DCGAN width divisor must divide 256, got \(widthDivisor)")
            let (w1, w2, w3) = (256 / widthDivisor, 128 / widthDivisor, 64 / widthDivisor)
            let leaky = Activation.leakyReLU(slope: 0.3)
            generator = Sequential(name: "g", inputShape: [100], layers: [
                Dense(engine, inputSize: 100, outputSize: 7 * 7 * w1, useBias: false),
                BatchNormalization(engine, featureShape: [7 * 7 * w1]),
                ActivationLayer(engine, leaky),
                Reshape([7, 7, w1]),
                Convolution2D(engine, inputShape: [7, 7, w1], filters: w2, kernelSize: (5, 5), strides: (1, 1),
                              padding: .same, useBias: false, transposed: true),
                BatchNormalization(engine, featureShape: [7, 7, w2]),
                ActivationLayer(engine, leaky),
                Convolution2D(engine, inputShape: [7, 7, w2], filters: w3, kernelSize: (5, 5), strides: (2, 2),
                              padding: .same, useBias: false, transposed: true),
                BatchNormalization(engine, featureShape: [14, 14, w3]),
                ActivationLayer(engine, leaky),
                Convolution2D(engine, inputShape: [14, 14, w3], filters: 1, kernelSize: (5, 5), strides: (2, 2),
                              padding: .same, activation: .tanh, useBias: false, transposed: true),
            ])
            var layers: [Layer] = [
                Convolution2D(engine, inputShape: [28, 28, 1], filters: w3, kernelSize: (5, 5), strides: (2, 2), padding: .same),
                ActivationLayer(engine, leaky),
            ]
            if dropout > 0 { layers.append(Dropout(rate: dropout, seed: seed &+ 1)) }
            layers += [
                Convolution2D(engine, inputShape: [14, 14, w3], filters: w2, kernelSize: (5, 5), strides: (2, 2), padding: .same),
                ActivationLayer(engine, leaky),
            ]
            if dropout > 0 { layers.append(Dropout(rate: dropout, seed: seed &+ 2)) }
            layers += [Reshape(flattening: 7 * 7 * w2), Dense(engine, inputSize: 7 * 7 * w2, outputSize: 1)]
            discriminator = Sequential(name: "d", inputShape: [28, 28, 1], layers: layers)
            loss = .binaryCrossEntropyFromLogits
        }
        Initializer.initialize(generator, seed: seed)
        Initializer.initialize(discriminator, seed: seed)
    }

    /// The run's fixed latent vectors, (count, latent): the same for a seed in every process,
    /// so that sample grids are comparable across time and between `agon train` and `agon run`.
    public func fixedNoise(count: Int, seed: UInt64) -> Tensor {
        let noise = Tensor(zeros: [count, latentSize])
        let random = CounterRandom(seed: seed)
        for i in 0..<count {
            random.fillNormal(noise.pointer + i * latentSize, count: latentSize, stream: .fixedNoise, 0, UInt32(i))
        }
        return noise
    }

    /// G's images for `noise`, in inference mode (BatchNorm's moving statistics).
    public func samples(_ noise: Tensor) -> Tensor {
        generator.forward(noise, context: .inference)
    }

    /// Every parameter of both networks with its full name (`g/0_dense/kernel`, …).
    public var namedParameters: [(name: String, parameter: Parameter)] {
        generator.namedParameters + discriminator.namedParameters
    }
}
