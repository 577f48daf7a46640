// Smoothing of a metric's curve: TensorBoard's debiased EMA, and a step-weighted variant whose
// curve does not depend on how densely the metric was logged. Always run on the full series.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a curve is smoothed before it is drawn.
///
/// Smoothing runs on the full series, before downsampling for drawing, so the smoothed curve
/// does not change with the number of points drawn (TensorBoard smooths after its reservoir
/// sampling, which is why its curves change shape as a run grows).
public enum Smoothing: Sendable, Hashable {
    /// The values as they are.
    case none

    /// TensorBoard's debiased exponential moving average, over point indices (steps ignored).
    ///
    /// With `weight` w in [0, 1), for each point in order (tensorboard `vz_line_chart2`,
    /// `resetSmoothing`):
    /// ```
    /// last = last · w + (1 − w) · y        // last starts at 0
    /// n    = n + 1
    /// out  = last / (1 − wⁿ)               // debiasing: the weights sum to 1
    /// ```
    /// A non-finite y is passed through unchanged and does not advance `last` or `n`. A
    /// constant series (every value `==` the first, so not one holding a NaN) is returned as
    /// is. Deviation: wⁿ is kept as a running product rather than `pow(w, n)`; the two agree to
    /// the last few bits.
    case exponential(weight: Double)

    /// A debiased EMA whose decay follows the step gap, so unevenly logged points are weighted
    /// by step distance and the curve does not change with the number of points.
    ///
    /// With `weight` w in [0, 1) per step, for each point i in order:
    /// ```
    /// a    = w^(stepᵢ − stepₚ)              // stepₚ: the previous point that advanced;
    ///                                      // the first point uses the gap after it
    /// last = last · a + (1 − a) · yᵢ        // last starts at 0
    /// norm = norm · a + (1 − a)            // norm starts at 0; equals 1 − wⁿ when Δ = 1
    /// out  = last / norm
    /// ```
    /// This is exactly `exponential(weight: w)` run over every integer step of the signal that
    /// holds each value over the steps since the previous point (yᵢ standing for the steps
    /// stepₚ + 1 … stepᵢ), read off at the logged steps; the first point stands for as many
    /// steps as the gap to the next one. So a series logged every Δ steps gives exactly
    /// `exponential(weight: w^Δ)`, and one logged every step `exponential(weight: w)`.
    ///
    /// A gap that is not positive (a repeated step, or a step that goes back after a restart
    /// from a checkpoint) or not finite counts as one step, so no point is ignored. Non-finite
    /// values, and values at a non-finite step, pass through unchanged and do not advance; a
    /// constant series is returned as is, as in `exponential`. Source: REFERENCE.md, "Curves" (a = w^Δstep). Compared with W&B's
    /// time-weighted EMA (docs.wandb.ai, "Smooth line plots"), which decays by w^Δx too but
    /// gives every point weight 1, each point here weighs 1 − a, the mass of the steps it
    /// stands for: that is what makes the curve independent of how densely it was logged.
    case stepWeighted(weight: Double)

    /// The smoothed `values`, one per value; `steps` are the values' steps, in order.
    ///
    /// - Precondition: `steps.count == values.count`; the weight is in [0, 1).
    public func apply(steps: [Double], values: [Double]) -> [Double] {
        precondition(steps.count == values.count,
                     "smoothing needs one step per value, got \(steps.count) steps for \(values.count) values")
        switch self {
        case .none:
            return values
        case .exponential(let weight):
            Self.checkWeight(weight)
            if Self.isConstant(values) { return values }
            return Self.debiasedEMA(values, weight: weight)
        case .stepWeighted(let weight):
            Self.checkWeight(weight)
            if Self.isConstant(values) { return values }
            return Self.stepWeightedEMA(steps: steps, values: values, weight: weight)
        }
    }

    private static func checkWeight(_ weight: Double) {
        precondition(weight >= 0 && weight < 1, "a smoothing weight must be in [0, 1), got \(weight)")
    }

    /// Whether every value equals the first (TensorBoard's test: false when a NaN is present).
    private static func isConstant(_ values: [Double]) -> Bool {
        guard let first = values.first else { return true }
        return values.allSatisfy { $0 == first }
    }

    private static func debiasedEMA(_ values: [Double], weight: Double) -> [Double] {
        var smoothed = [Double](repeating: 0, count: values.count)
        var last = 0.0
        var decay = 1.0  // wⁿ
        values.withUnsafeBufferPointer { input in
            smoothed.withUnsafeMutableBufferPointer { output in
                for i in 0..<input.count {
                    let y = input[i]
                    guard y.isFinite else { output[i] = y; continue }
                    last = last * weight + (1 - weight) * y
                    decay *= weight
                    output[i] = last / (1 - decay)
                }
            }
        }
        return smoothed
    }

    private static func stepWeightedEMA(steps: [Double], values: [Double], weight: Double) -> [Double] {
        var smoothed = [Double](repeating: 0, count: values.count)
        var last = 0.0
        var norm = 0.0
        var previousStep: Double? = nil
        // The first point stands for the gap between the first two points that advance.
        var firstTwo: [Double] = []
        for i in steps.indices where steps[i].isFinite && values[i].isFinite {
            firstTwo.append(steps[i])
            if firstTwo.count == 2 { break }
        }
        let firstGap = firstTwo.count == 2 ? firstTwo[1] - firstTwo[0] : 1
        // Evenly logged series repeat the same gap: compute w^Δ once per distinct gap in a row.
        var cachedGap = 1.0
        var cachedDecay = weight
        steps.withUnsafeBufferPointer { steps in
            values.withUnsafeBufferPointer { input in
                smoothed.withUnsafeMutableBufferPointer { output in
                    for i in 0..<input.count {
                        let (step, y) = (steps[i], input[i])
                        guard y.isFinite, step.isFinite else { output[i] = y; continue }
                        var gap = previousStep.map { step - $0 } ?? firstGap
                        if !(gap > 0) || !gap.isFinite { gap = 1 }
                        if gap != cachedGap {
                            cachedGap = gap
                            cachedDecay = pow(weight, gap)
                        }
                        let a = cachedDecay
                        last = last * a + (1 - a) * y
                        norm = norm * a + (1 - a)
                        // norm is 0 only if a rounds to 1 on the first point (a gap of ~1e-17).
                        output[i] = norm > 0 ? last / norm : y
                        previousStep = step
                    }
                }
            }
        }
        return smoothed
    }
}
