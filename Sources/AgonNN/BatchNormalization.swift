// Batch normalisation layer (Keras `BatchNormalization`, axis −1): batch statistics and a
// moving-average update in training, moving statistics in inference.
import AgonTensor

/// Normalises over every axis but the last, on oneDNN's primitive (`BatchNormKernel`).
///
/// In training, after normalising with the batch's mean and biased variance:
/// ```
/// moving_mean     = momentum · moving_mean     + (1 − momentum) · μ_B
/// moving_variance = momentum · moving_variance + (1 − momentum) · σ²_B   (biased, as Keras 3)
/// ```
public final class BatchNormalization: Layer {
    public let featureShape: [Int]
    public let momentum: Float
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    public let movingMean: Parameter
    public let movingVariance: Parameter
    private let engine: Engine
    private let cache = BatchCache<Buffers>()
    private var input: Tensor?

    private struct Buffers {
        let kernel: BatchNormKernel
        let output: Tensor
        let inputGradient: Tensor
        let mean: Tensor
        let variance: Tensor
    }

    /// BatchNorm over per-sample shape `[C]` or `[H, W, C]`; Keras defaults momentum 0.99, ε 1e-3.
    public init(_ engine: Engine, featureShape: [Int], momentum: Float = 0.99, epsilon: Float = 1e-3) {
        precondition(featureShape.count == 1 || featureShape.count == 3, "batch norm over [C] or [H, W, C], got \(featureShape)")
        self.engine = engine
        self.featureShape = featureShape
        self.momentum = momentum
        self.epsilon = epsilon
        let c = featureShape.last!
        gamma = Parameter(trainable: "gamma", shape: [c])
        gamma.value.pointer.update(repeating: 1, count: c)
        beta = Parameter(trainable: "beta", shape: [c])
        movingMean = Parameter(state: "moving_mean", shape: [c], initial: 0)
        movingVariance = Parameter(state: "moving_variance", shape: [c], initial: 1)
    }

    private init(sharing other: BatchNormalization) {
        engine = other.engine; featureShape = other.featureShape; momentum = other.momentum; epsilon = other.epsilon
        gamma = other.gamma; beta = other.beta; movingMean = other.movingMean; movingVariance = other.movingVariance
    }

    public var kind: String { "batchnormalization" }
    public var parameters: [Parameter] { [gamma, beta, movingMean, movingVariance] }
    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    private var channels: Int { featureShape.last! }

    private func buffers(_ batch: Int) -> Buffers {
        cache.get(batch) {
            let spatial: (Int, Int)? = featureShape.count == 3 ? (featureShape[0], featureShape[1]) : nil
            let shape = [batch] + featureShape
            return Buffers(kernel: BatchNormKernel(engine, batch: batch, spatial: spatial, channels: channels, epsilon: epsilon),
                           output: Tensor(zeros: shape), inputGradient: Tensor(zeros: shape),
                           mean: Tensor(zeros: [channels]), variance: Tensor(zeros: [channels]))
        }
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        precondition(input.rowLength == featureShape.reduce(1, *), "batch norm: input \(input.shape), expected [B] + \(featureShape)")
        let b = buffers(input.rows)
        if context.training {
            b.kernel.forwardTraining(input: input.pointer, gamma: gamma.value.pointer, beta: beta.value.pointer,
                                     output: b.output.pointer, mean: b.mean.pointer, variance: b.variance.pointer)
            let keep = momentum, take = 1 - momentum
            for c in 0..<channels {
                movingMean.value[c] = movingMean.value[c] * keep + b.mean[c] * take
                movingVariance.value[c] = movingVariance.value[c] * keep + b.variance[c] * take
            }
        } else {
            b.kernel.forwardInference(input: input.pointer, gamma: gamma.value.pointer, beta: beta.value.pointer,
                                      output: b.output.pointer, mean: movingMean.value.pointer, variance: movingVariance.value.pointer)
        }
        self.input = input
        return b.output.reshaped(input.shape)
    }

    public func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        guard let x = input else { preconditionFailure("batch norm: backward before forward") }
        let b = buffers(x.rows)
        b.kernel.backward(input: x.pointer, mean: b.mean.pointer, variance: b.variance.pointer,
                          gamma: gamma.value.pointer, beta: beta.value.pointer,
                          outputGradient: outputGradient.pointer, inputGradient: b.inputGradient.pointer,
                          gammaGradient: parameterGradients ? gamma.gradient!.pointer : nil,
                          betaGradient: parameterGradients ? beta.gradient!.pointer : nil)
        return inputGradient ? b.inputGradient.reshaped(x.shape) : nil
    }

    public func replica() -> Layer { BatchNormalization(sharing: self) }
}
