// 2-D convolution and transposed convolution layers (Keras `Conv2D`, `Conv2DTranspose`) on
// oneDNN primitives made once per batch size, activation fused.
import AgonTensor

/// `y = f(x ⋆ W + b)` on NHWC images, or its transpose `y = f(x ⋆ᵀ W + b)`.
///
/// Kernel in Keras layout: `[kh, kw, in, out]` for `Conv2D`, `[kh, kw, out, in]` for
/// `Conv2DTranspose`; padding and output sizes follow TensorFlow (`ConvolutionGeometry`).
public final class Convolution2D: Layer {
    public let transposed: Bool
    public let inputShape: [Int]      // [H, W, C]
    public let filters: Int
    public let kernelSize: (Int, Int)
    public let strides: (Int, Int)
    public let padding: Padding
    public let activation: Activation
    public let kernel: Parameter
    public let bias: Parameter?
    private let engine: Engine
    private let cache = BatchCache<Buffers>()
    private var input: Tensor?
    private var output: Tensor?

    private struct Buffers {
        let kernel: ConvolutionKernel
        let runner: ActivationRunner
        let output: Tensor
        let preGradient: Tensor
        let inputGradient: Tensor
    }

    /// A convolution over per-sample input `[H, W, C]`.
    public init(_ engine: Engine, inputShape: [Int], filters: Int, kernelSize: (Int, Int), strides: (Int, Int) = (1, 1),
                padding: Padding = .valid, activation: Activation = .linear, useBias: Bool = true, transposed: Bool = false) {
        precondition(inputShape.count == 3, "convolution input must be [H, W, C], got \(inputShape)")
        self.engine = engine
        self.inputShape = inputShape
        self.filters = filters
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.activation = activation
        self.transposed = transposed
        let probe = Convolution2D.geometry(batch: 1, inputShape, filters, kernelSize, strides, padding, transposed)
        kernel = Parameter(trainable: "kernel", shape: probe.kernelShape)
        bias = useBias ? Parameter(trainable: "bias", shape: [filters]) : nil
    }

    private init(sharing other: Convolution2D) {
        engine = other.engine
        inputShape = other.inputShape; filters = other.filters; kernelSize = other.kernelSize
        strides = other.strides; padding = other.padding; activation = other.activation
        transposed = other.transposed; kernel = other.kernel; bias = other.bias
    }

    private static func geometry(batch: Int, _ inputShape: [Int], _ filters: Int, _ kernelSize: (Int, Int),
                                 _ strides: (Int, Int), _ padding: Padding, _ transposed: Bool) -> ConvolutionGeometry {
        ConvolutionGeometry(batch: batch, inputHeight: inputShape[0], inputWidth: inputShape[1], inputChannels: inputShape[2],
                            outputChannels: filters, kernel: kernelSize, stride: strides, padding: padding, transposed: transposed)
    }

    public var kind: String { transposed ? "conv2dtranspose" : "conv2d" }
    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape == self.inputShape, "\(kind): input \(inputShape), built for \(self.inputShape)")
        let g = Convolution2D.geometry(batch: 1, inputShape, filters, kernelSize, strides, padding, transposed)
        return [g.outputHeight, g.outputWidth, g.outputChannels]
    }

    private func buffers(_ batch: Int) -> Buffers {
        cache.get(batch) {
            let g = Convolution2D.geometry(batch: batch, inputShape, filters, kernelSize, strides, padding, transposed)
            let outShape = [batch, g.outputHeight, g.outputWidth, g.outputChannels]
            return Buffers(kernel: ConvolutionKernel(engine, geometry: g, bias: bias != nil),
                           runner: ActivationRunner(engine, activation, count: g.outputCount),
                           output: Tensor(zeros: outShape), preGradient: Tensor(zeros: outShape),
                           inputGradient: Tensor(zeros: [batch] + inputShape))
        }
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        precondition(input.rowLength == inputShape.reduce(1, *), "\(kind): input \(input.shape), expected [B] + \(inputShape)")
        let b = buffers(input.rows)
        b.kernel.forward(input: input.pointer, kernel: kernel.value.pointer, bias: bias?.value.pointer, output: b.output.pointer)
        b.runner.forward(b.output.pointer, b.output.pointer, count: b.output.count)
        self.input = input
        output = b.output
        return b.output
    }

    public func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        guard let x = input, let y = output else { preconditionFailure("\(kind): backward before forward") }
        precondition(outputGradient.count == y.count, "\(kind): output gradient \(outputGradient.shape) for output \(y.shape)")
        let b = buffers(x.rows)
        let dz = b.runner.backward(output: y.pointer, outputGradient.pointer, b.preGradient.pointer, count: y.count)
        if parameterGradients {
            b.kernel.backwardWeights(input: x.pointer, outputGradient: dz, kernelGradient: kernel.gradient!.pointer,
                                     biasGradient: bias?.gradient!.pointer)
        }
        guard inputGradient else { return nil }
        b.kernel.backwardData(outputGradient: dz, kernel: kernel.value.pointer, inputGradient: b.inputGradient.pointer)
        return b.inputGradient.reshaped(x.shape)
    }

    public func replica() -> Layer { Convolution2D(sharing: self) }
}
