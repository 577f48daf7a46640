// Softmax cross-entropy on logits for a batch of class labels: the loss a classifier trains on,
// its gradient, and the probabilities and accuracy that metrics read.
import AgonTensor
import Glibc

/// The mean over a batch of the negative log-likelihood of each sample's label under the
/// softmax of its logits (TensorFlow's `sparse_softmax_cross_entropy_with_logits`, averaged):
/// ```
/// L = −(1/B) Σ_b log softmax(z_b)[y_b],   softmax(z)_k = e^(z_k − m) / Σ_j e^(z_j − m),  m = max_j z_j
/// ∂L/∂z_b = (softmax(z_b) − onehot(y_b)) / B
/// ```
/// Subtracting the row maximum `m` changes nothing mathematically and keeps every exponent ≤ 0,
/// so logits of any size give finite values; the log-sum-exp is accumulated in Double.
///
/// Logits are `(B, classes)` row-major, labels `B` integers in `0..<classes`.
public enum SoftmaxCrossEntropy {
    /// The mean loss over the batch; when `gradient` is given, writes dLoss/dlogits into it:
    /// ```
    /// dz = (softmax(z) − onehot(y)) / B   (B, classes)
    /// ```
    public static func loss(logits: Tensor, labels: [Int], gradient: Tensor? = nil) -> Float {
        let (batch, classes) = check(logits, labels, "loss")
        if let gradient {
            precondition(gradient.count == logits.count,
                         "softmax cross-entropy: gradient \(gradient.shape) for logits \(logits.shape)")
        }
        let inverseBatch = 1 / Float(batch)
        var total = 0.0
        for b in 0..<batch {
            let z = logits.pointer + b * classes
            let m = rowMaximum(z, classes)
            var sum = 0.0
            for k in 0..<classes { sum += Double(expf(z[k] - m)) }
            // −log softmax(z)[y] = log Σ e^(z − m) − (z_y − m)
            total += log(sum) - Double(z[labels[b]] - m)
            guard let gradient else { continue }
            let dz = gradient.pointer + b * classes
            let inverseSum = Float(1 / sum)
            // dz = (softmax(z) − onehot(y)) / B  (classes)
            for k in 0..<classes { dz[k] = expf(z[k] - m) * inverseSum * inverseBatch }
            dz[labels[b]] -= inverseBatch
        }
        return Float(total / Double(batch))
    }

    /// Writes softmax(logits) row by row into `probabilities`, which has the logits' size and may
    /// be the logits themselves.
    public static func softmax(_ logits: Tensor, into probabilities: Tensor) {
        precondition(logits.shape.count == 2 && logits.shape[1] >= 1, "softmax: logits must be (B, classes), got \(logits.shape)")
        precondition(probabilities.count == logits.count, "softmax: output \(probabilities.shape) for logits \(logits.shape)")
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        for b in 0..<batch {
            let z = logits.pointer + b * classes, p = probabilities.pointer + b * classes
            let m = rowMaximum(z, classes)
            var sum = 0.0
            for k in 0..<classes {
                p[k] = expf(z[k] - m)
                sum += Double(p[k])
            }
            let inverseSum = Float(1 / sum)
            for k in 0..<classes { p[k] *= inverseSum }
        }
    }

    /// softmax(logits) in a new `(B, classes)` tensor: each row is non-negative and sums to 1.
    public static func probabilities(_ logits: Tensor) -> Tensor {
        let result = Tensor(zeros: logits.shape)
        softmax(logits, into: result)
        return result
    }

    /// The class each row's largest logit picks (the first, on ties).
    public static func predictions(_ logits: Tensor) -> [Int] {
        precondition(logits.shape.count == 2 && logits.shape[1] >= 1, "predictions: logits must be (B, classes), got \(logits.shape)")
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        return (0..<batch).map { b in
            let z = logits.pointer + b * classes
            var best = 0
            for k in 1..<classes where z[k] > z[best] { best = k }
            return best
        }
    }

    /// The number of rows whose largest logit is at the label.
    public static func correctCount(logits: Tensor, labels: [Int]) -> Int {
        _ = check(logits, labels, "correctCount")
        return zip(predictions(logits), labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
    }

    /// The fraction of rows whose largest logit is at the label, in [0, 1].
    public static func accuracy(logits: Tensor, labels: [Int]) -> Double {
        Double(correctCount(logits: logits, labels: labels)) / Double(labels.count)
    }

    /// Checks that `logits` is `(B, classes)` with B = `labels.count` ≥ 1 and every label a class.
    private static func check(_ logits: Tensor, _ labels: [Int], _ caller: String) -> (batch: Int, classes: Int) {
        precondition(logits.shape.count == 2 && logits.shape[1] >= 1,
                     "softmax cross-entropy \(caller): logits must be (B, classes), got \(logits.shape)")
        let (batch, classes) = (logits.shape[0], logits.shape[1])
        precondition(batch >= 1 && labels.count == batch,
                     "softmax cross-entropy \(caller): \(labels.count) labels for logits \(logits.shape)")
        precondition(labels.allSatisfy { $0 >= 0 && $0 < classes },
                     "softmax cross-entropy \(caller): a label is outside 0..<\(classes) (logits \(logits.shape))")
        return (batch, classes)
    }

    @inline(__always)
    private static func rowMaximum(_ z: UnsafePointer<Float>, _ count: Int) -> Float {
        var m = z[0]
        for k in 1..<count where z[k] > m { m = z[k] }
        return m
    }
}
