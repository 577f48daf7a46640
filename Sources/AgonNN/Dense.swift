// Fully connected layer (Keras `Dense`), with its activation fused: forward and backward.
import AgonTensor

/// `y = f(x · W + b)` over the last axis.
///
/// Kernel in Keras layout `[in, out]`; bias `[out]` (optional, as `use_bias`).
public final class Dense: Layer {
    public let inputSize: Int
    public let outputSize: Int
    public let activation: Activation
    public let kernel: Parameter
    public let bias: Parameter?
    private let engine: Engine
    private let cache = BatchCache<Buffers>()
    private var input: Tensor?
    private var output: Tensor?

    private struct Buffers {
        let runner: ActivationRunner
        let forward: MatmulKernel        // y = f(x · W + b)
        let inputProduct: MatmulKernel   // dx = dz · Wᵀ
        let kernelProduct: MatmulKernel  // dW += xᵀ · dz
        let output: Tensor        // (B, out)
        let preGradient: Tensor   // (B, out): dz = f′ · dy
        let inputGradient: Tensor // (B, in)
    }

    /// A dense layer; parameters start at zero (see `Initializer`).
    public init(_ engine: Engine, inputSize: Int, outputSize: Int, activation: Activation = .linear, useBias: Bool = true) {
        self.engine = engine
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.activation = activation
        kernel = Parameter(trainable: "kernel", shape: [inputSize, outputSize])
        bias = useBias ? Parameter(trainable: "bias", shape: [outputSize]) : nil
    }

    private init(sharing other: Dense) {
        engine = other.engine
        inputSize = other.inputSize
        outputSize = other.outputSize
        activation = other.activation
        kernel = other.kernel
        bias = other.bias
    }

    public var kind: String { "dense" }
    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == inputSize, "dense expects \(inputSize) features, got \(inputShape)")
        return [outputSize]
    }

    private func buffers(_ batch: Int) -> Buffers {
        cache.get(batch) {
            Buffers(runner: ActivationRunner(engine, activation, count: batch * outputSize),
                    forward: MatmulKernel(engine, m: batch, n: outputSize, k: inputSize, bias: bias != nil,
                                          epilogue: activation.epilogue),
                    inputProduct: MatmulKernel(engine, m: batch, n: inputSize, k: outputSize, transposeB: true),
                    kernelProduct: MatmulKernel(engine, m: inputSize, n: outputSize, k: batch, transposeA: true, accumulate: true),
                    output: Tensor(zeros: [batch, outputSize]),
                    preGradient: Tensor(zeros: [batch, outputSize]),
                    inputGradient: Tensor(zeros: [batch, inputSize]))
        }
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let batch = input.rows
        precondition(input.rowLength == inputSize, "dense: input \(input.shape) has \(input.rowLength) features, kernel expects \(inputSize)")
        let b = buffers(batch)
        let y = b.output
        // y = f(x · W + b)  (B, out), the activation fused into the product
        b.forward.run(input.pointer, kernel.value.pointer, bias: bias?.value.pointer, into: y.pointer)
        self.input = input
        self.output = y
        return y
    }

    public func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        guard let x = input, let y = output else { preconditionFailure("dense: backward before forward") }
        let batch = x.rows
        precondition(outputGradient.count == y.count, "dense: output gradient \(outputGradient.shape) for output \(y.shape)")
        let b = buffers(batch)
        // dz = f′(z) · dy  (B, out)
        let dz = b.runner.backward(output: y.pointer, outputGradient.pointer, b.preGradient.pointer, count: y.count)
        if parameterGradients {
            // dW += xᵀ · dz  (in, out)
            b.kernelProduct.run(x.pointer, dz, into: kernel.gradient!.pointer)
            // db += Σ_batch dz  (out)
            if let bias {
                Elementwise.accumulateColumnSums(of: dz, rows: batch, length: outputSize, into: bias.gradient!.pointer)
            }
        }
        guard inputGradient else { return nil }
        // dx = dz · Wᵀ  (B, in)
        let dx = b.inputGradient
        b.inputProduct.run(dz, kernel.value.pointer, into: dx.pointer)
        return dx.reshaped(x.shape)
    }

    public func replica() -> Layer { Dense(sharing: self) }
}
