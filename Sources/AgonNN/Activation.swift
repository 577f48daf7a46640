// Activation functions, fused into Dense and convolution layers or standing alone as layers.
import AgonTensor

/// An elementwise activation.
public enum Activation: Sendable, Equatable {
    case linear
    case relu
    /// `max(x, 0) + slope · min(x, 0)`; Keras 3's LeakyReLU default slope is 0.3.
    case leakyReLU(slope: Float)
    case sigmoid
    case tanh
}

extension Activation {
    /// The same function as a oneDNN post-op fused into a product.
    var epilogue: MatmulKernel.Epilogue {
        switch self {
        case .linear: return .none
        case .relu: return .leakyReLU(slope: 0)
        case .leakyReLU(let slope): return .leakyReLU(slope: slope)
        case .sigmoid: return .sigmoid
        case .tanh: return .tanh
        }
    }
}

/// Runs one activation over a fixed element count, in place, and its derivative from the output.
///
/// Every supported function's derivative can be computed from its output (for leaky ReLU the
/// output has the input's sign), so layers keep only the output.
final class ActivationRunner {
    let activation: Activation
    private let engine: Engine
    private let count: Int
    /// Made on first forward: Dense fuses its activation into the matmul and only uses backward.
    private lazy var kernel: EltwiseKernel? = {
        switch activation {
        case .sigmoid: EltwiseKernel(engine, function: .sigmoid, count: count)
        case .tanh: EltwiseKernel(engine, function: .tanh, count: count)
        default: nil
        }
    }()

    init(_ engine: Engine, _ activation: Activation, count: Int) {
        self.activation = activation
        self.engine = engine
        self.count = count
    }

    /// `y = f(x)`; `x` and `y` may be the same buffer.
    @inline(__always)
    func forward(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch activation {
        case .linear: if x != y { y.update(from: x, count: count) }
        case .relu: Elementwise.leakyReLU(x, y, count: count, slope: 0)
        case .leakyReLU(let slope): Elementwise.leakyReLU(x, y, count: count, slope: slope)
        case .sigmoid, .tanh: kernel!.run(input: x, output: y)
        }
    }

    /// `dx = f′ · dy` from the output `y`; for `linear`, `dx` is `dy` and nothing is written.
    @inline(__always)
    func backward(output y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>, count: Int) -> UnsafeMutablePointer<Float> {
        switch activation {
        case .linear: return dy
        case .relu: Elementwise.leakyReLUBackward(y, dy, dx, count: count, slope: 0)
        case .leakyReLU(let slope): Elementwise.leakyReLUBackward(y, dy, dx, count: count, slope: slope)
        case .sigmoid: Elementwise.sigmoidBackward(y, dy, dx, count: count)
        case .tanh: Elementwise.tanhBackward(y, dy, dx, count: count)
        }
        return dx
    }
}

/// A standalone activation layer (Keras `ReLU`, `LeakyReLU`, `Activation`).
public final class ActivationLayer: Layer {
    public let activation: Activation
    private let engine: Engine
    private let cache = BatchCache<(runner: ActivationRunner, output: Tensor, gradient: Tensor)>()
    private var output: Tensor?

    public init(_ engine: Engine, _ activation: Activation) {
        self.engine = engine
        self.activation = activation
    }

    public var kind: String {
        switch activation {
        case .leakyReLU: return "leakyrelu"
        case .relu: return "relu"
        default: return "activation"
        }
    }

    public var parameters: [Parameter] { [] }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    private func resources(for input: Tensor) -> (runner: ActivationRunner, output: Tensor, gradient: Tensor) {
        cache.get(input.rows) {
            (ActivationRunner(engine, activation, count: input.count), Tensor(zeros: input.shape), Tensor(zeros: input.shape))
        }
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let r = resources(for: input)
        let y = r.output.reshaped(input.shape)
        r.runner.forward(input.pointer, y.pointer, count: input.count)
        output = y
        return y
    }

    public func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        guard inputGradient else { return nil }
        guard let y = output else { preconditionFailure("\(kind): backward before forward") }
        let r = resources(for: y)
        let dx = r.gradient.reshaped(y.shape)
        let result = r.runner.backward(output: y.pointer, outputGradient.pointer, dx.pointer, count: y.count)
        return result == dx.pointer ? dx : outputGradient
    }

    public func replica() -> Layer { ActivationLayer(engine, activation) }
}
