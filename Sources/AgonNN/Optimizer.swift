// Optimizers: Adam in its Keras/TensorFlow form, and SGD with optional momentum.
import AgonTensor
import Glibc

/// Updates parameters from their gradients and keeps the state it needs between steps.
public protocol Optimizer: AnyObject {
    /// Steps taken so far.
    var iterations: Int { get set }
    /// Applies one update to every parameter from its `gradient`.
    func step()
    /// The optimizer's state tensors with names relative to their parameter (`m`, `v`), in the
    /// order of the parameters it was built with; for checkpoints.
    var slots: [(parameter: Int, name: String, tensor: Tensor)] { get }
}

/// Adam as Keras and TensorFlow compute it (Kingma & Ba 2015, section 2's efficient form):
/// ```
/// m ← β₁·m + (1 − β₁)·g        v ← β₂·v + (1 − β₂)·g²
/// θ ← θ − lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ) · m / (√v + ε)
/// ```
/// ε is added to √v, not to the bias-corrected √v̂: the two forms differ by 1–6 % of an update
/// with ε = 1e-7 early in training, and only this one matches TensorFlow.
public final class Adam: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public var iterations = 0
    private let m: [Tensor]
    private let v: [Tensor]

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        precondition(parameters.allSatisfy(\.isTrainable), "Adam: every parameter must be trainable")
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        m = parameters.map { Tensor(zeros: $0.shape) }
        v = parameters.map { Tensor(zeros: $0.shape) }
    }

    public var slots: [(parameter: Int, name: String, tensor: Tensor)] {
        parameters.indices.flatMap { [($0, "m", m[$0]), ($0, "v", v[$0])] }
    }

    public func step() {
        iterations += 1
        let t = Double(iterations)
        let rate = Float(Double(learningRate) * (1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t)))
        for (i, p) in parameters.enumerated() {
            Elementwise.adam(p.value.pointer, gradient: p.gradient!.pointer, m: m[i].pointer, v: v[i].pointer,
                             count: p.value.count, rate: rate, beta1: beta1, beta2: beta2, epsilon: epsilon)
        }
    }
}

/// Stochastic gradient descent, with momentum as Keras defines it:
/// `u ← μ·u − lr·g; θ ← θ + u` (plain `θ ← θ − lr·g` when μ = 0).
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let momentum: Float
    public var iterations = 0
    private let velocity: [Tensor]

    public init(parameters: [Parameter], learningRate: Float = 0.01, momentum: Float = 0) {
        precondition(parameters.allSatisfy(\.isTrainable), "SGD: every parameter must be trainable")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        velocity = momentum == 0 ? [] : parameters.map { Tensor(zeros: $0.shape) }
    }

    public var slots: [(parameter: Int, name: String, tensor: Tensor)] {
        velocity.indices.map { ($0, "momentum", velocity[$0]) }
    }

    public func step() {
        iterations += 1
        for (i, p) in parameters.enumerated() {
            let w = p.value.pointer, g = p.gradient!.pointer
            if momentum == 0 {
                for j in 0..<p.value.count { w[j] -= learningRate * g[j] }
            } else {
                let u = velocity[i].pointer
                for j in 0..<p.value.count {
                    u[j] = momentum * u[j] - learningRate * g[j]
                    w[j] += u[j]
                }
            }
        }
    }
}
