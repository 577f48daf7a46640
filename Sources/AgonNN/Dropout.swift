// Dropout (Keras `Dropout`) with a seeded, counter-based mask: the same samples get the same
// mask whichever worker draws them.
import AgonTensor

/// Zeroes each element with probability `rate` in training and scales the rest by 1/(1 − rate).
///
/// The mask of sample i at step s in pass p is drawn from `CounterRandom` with counters
/// (s, i, p), so it does not depend on the batch split across workers.
public final class Dropout: Layer {
    public let rate: Float
    private let random: CounterRandom
    private let cache = BatchCache<(mask: Tensor, output: Tensor, gradient: Tensor)>()
    private var active = false
    private var shape: [Int] = []

    /// Dropout at `rate`; `seed` should differ between Dropout layers of one network.
    public init(rate: Float, seed: UInt64) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
        random = CounterRandom(seed: seed)
    }

    public var kind: String { "dropout" }
    public var parameters: [Parameter] { [] }
    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        shape = input.shape
        active = context.training && rate > 0
        guard active else { return input }
        let b = cache.get(input.rows) { (Tensor(zeros: input.shape), Tensor(zeros: input.shape), Tensor(zeros: input.shape)) }
        let n = input.rowLength
        for i in 0..<input.rows {
            let row = b.mask.pointer + i * n
            random.fillUniform(row, count: n, low: 0, high: 1, stream: .dropout, UInt32(truncatingIfNeeded: context.step),
                               UInt32(truncatingIfNeeded: context.firstSample + i), UInt32(truncatingIfNeeded: context.pass))
            for j in 0..<n { row[j] = row[j] < rate ? 0 : 1 }
        }
        Elementwise.applyMask(input.pointer, mask: b.mask.pointer, b.output.pointer, count: input.count, scale: 1 / (1 - rate))
        return b.output.reshaped(input.shape)
    }

    public func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        guard inputGradient else { return nil }
        guard active else { return outputGradient }
        let b = cache.get(shape[0]) { preconditionFailure("dropout: backward before forward") }
        Elementwise.applyMask(outputGradient.pointer, mask: b.mask.pointer, b.gradient.pointer,
                              count: outputGradient.count, scale: 1 / (1 - rate))
        return b.gradient.reshaped(shape)
    }

    public func replica() -> Layer { Dropout(rate: rate, seed: random.seed) }
}
