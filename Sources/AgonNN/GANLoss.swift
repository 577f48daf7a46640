// The GAN losses: binary cross-entropy (from probabilities, clipped as Keras, or from logits),
// hinge and least squares, each as its three terms with their gradients.
import AgonTensor
import Glibc

/// A GAN objective, split into the three terms a step evaluates.
///
/// ```
/// d_loss = L(D(x), real) + L(D(G(z)), fake)        g_loss = L(D(G(z)), real)
/// ```
/// except hinge, whose generator term is −mean D(G(z)) (Lim & Ye 2017; Miyato et al. 2018).
/// Every term is a mean over the batch; gradients are with respect to D's outputs.
public enum GANLoss: String, Sendable, CaseIterable {
    /// BCE on probabilities clipped to [1e-7, 1 − 1e-7], as Keras `BinaryCrossentropy()`;
    /// the gradient is zero where clipping binds, as TensorFlow's `clip_by_value`.
    case binaryCrossEntropy = "bce"
    /// BCE on logits, `max(x, 0) − x·t + log(1 + e^−|x|)` (TensorFlow's
    /// `sigmoid_cross_entropy_with_logits`), stable for any logit.
    case binaryCrossEntropyFromLogits = "bce-logits"
    /// D: mean relu(1 − D(x)) + mean relu(1 + D(G(z))); G: −mean D(G(z)).
    case hinge
    /// Least squares (Mao et al. 2017): mean (D − t)² with t = 1 for real, 0 for fake.
    case leastSquares = "least-squares"

    /// Which term of the objective.
    public enum Term: Sendable {
        /// D's loss on real data.
        case discriminatorReal
        /// D's loss on generated data.
        case discriminatorFake
        /// G's loss: D's outputs on generated data, judged as if real.
        case generator
    }

    static let epsilon: Float = 1e-7

    /// The mean loss of `term` over `count` outputs, writing dLoss/dOutput to `gradient`.
    public func evaluate(_ outputs: UnsafePointer<Float>, count: Int, term: Term, gradient: UnsafeMutablePointer<Float>) -> Float {
        let n = Float(count)
        var total: Double = 0
        let target: Float = term == .discriminatorFake ? 0 : 1
        for i in 0..<count {
            let y = outputs[i]
            var loss: Float, grad: Float
            switch self {
            case .binaryCrossEntropy:
                let p = min(max(y, Self.epsilon), 1 - Self.epsilon)
                loss = -(target * logf(p) + (1 - target) * logf(1 - p))
                let inside = y >= Self.epsilon && y <= 1 - Self.epsilon
                grad = inside ? -(target / p - (1 - target) / (1 - p)) : 0
            case .binaryCrossEntropyFromLogits:
                loss = max(y, 0) - y * target + log1pf(expf(-abs(y)))
                grad = 1 / (1 + expf(-y)) - target
            case .hinge:
                switch term {
                case .discriminatorReal: loss = max(0, 1 - y); grad = y < 1 ? -1 : 0
                case .discriminatorFake: loss = max(0, 1 + y); grad = y > -1 ? 1 : 0
                case .generator: loss = -y; grad = -1
                }
            case .leastSquares:
                loss = (y - target) * (y - target)
                grad = 2 * (y - target)
            }
            total += Double(loss)
            gradient[i] = grad / n
        }
        return Float(total / Double(count))
    }

    /// D's belief that an output is real, as a probability where the loss has one: the output
    /// itself for BCE, its sigmoid for logits; the raw output for hinge and least squares.
    @inline(__always)
    public func realness(_ output: Float) -> Float {
        self == .binaryCrossEntropyFromLogits ? 1 / (1 + expf(-output)) : output
    }

    /// The value of `realness` above which D calls a sample real: 0 for hinge, else 0.5.
    public var threshold: Float { self == .hinge ? 0 : 0.5 }
}
