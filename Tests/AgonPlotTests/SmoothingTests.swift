// Smoothing: TensorBoard's debiased EMA against hand-computed values and a literal transcription
// of TensorBoard's loop; the step-weighted EMA against the plain EMA of the held signal.

import AgonPlot
import Foundation
import Testing

/// TensorBoard's `resetSmoothing` (vz_line_chart2/line-chart.ts) transcribed literally, with
/// `Math.pow` for the debias weight, as an independent implementation.
private func tensorBoardSmoothing(_ values: [Double], weight: Double) -> [Double] {
    let isConstant = values.allSatisfy { $0 == values.first }
    var last = values.isEmpty ? Double.nan : 0
    var numAccum = 0.0
    return values.map { next in
        if isConstant || !next.isFinite { return next }
        last = last * weight + (1 - weight) * next
        numAccum += 1
        let debias = weight == 1 ? 1 : 1 - pow(weight, numAccum)
        return last / debias
    }
}

private func expectClose(_ actual: [Double], _ expected: [Double], tolerance: Double = 1e-12,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (a, e) in zip(actual, expected) {
        if e.isNaN {
            #expect(a.isNaN, "expected NaN, got \(a)", sourceLocation: sourceLocation)
        } else if e.isInfinite {
            #expect(a == e, sourceLocation: sourceLocation)
        } else {
            #expect(abs(a - e) <= tolerance * max(1, abs(e)), "\(a) is not \(e)", sourceLocation: sourceLocation)
        }
    }
}

/// A deterministic noisy series (a fixed-seed linear congruential generator).
private func noisySeries(count: Int, seed: UInt64) -> [Double] {
    var state = seed
    return (0..<count).map { i in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return 2 * exp(-Double(i) / 50) + Double(state >> 11) / Double(1 << 53)
    }
}

@Suite struct SmoothingTests {
    @Test func exponentialMatchesHandComputedValues() {
        // w = 0.5: last = 0.5, 1.25, 2.125; 1 − wⁿ = 0.5, 0.75, 0.875 → 1, 5/3, 17/7.
        let smoothed = Smoothing.exponential(weight: 0.5).apply(steps: [0, 1, 2], values: [1, 2, 3])
        expectClose(smoothed, [1, 1.6666667, 2.4285714], tolerance: 1e-7)
        expectClose(smoothed, [1, 5.0 / 3, 17.0 / 7])
    }

    @Test func exponentialMatchesTensorBoardsLoop() {
        let values = noisySeries(count: 500, seed: 7)
        let steps = values.indices.map(Double.init)
        for weight in [0.0, 0.3, 0.6, 0.9, 0.99] {
            expectClose(Smoothing.exponential(weight: weight).apply(steps: steps, values: values),
                        tensorBoardSmoothing(values, weight: weight))
        }
    }

    @Test func nonFiniteValuesPassThroughAndDoNotAdvance() {
        let values: [Double] = [1, .nan, 2, .infinity, 3, -.infinity]
        let smoothed = Smoothing.exponential(weight: 0.5).apply(steps: [0, 1, 2, 3, 4, 5], values: values)
        #expect(smoothed[1].isNaN)
        #expect(smoothed[3] == .infinity)
        #expect(smoothed[5] == -.infinity)
        // The finite points are smoothed as if the others were absent.
        expectClose([smoothed[0], smoothed[2], smoothed[4]], [1, 5.0 / 3, 17.0 / 7])
        expectClose(smoothed, tensorBoardSmoothing(values, weight: 0.5))
    }

    @Test func constantSeriesIsReturnedAsIs() {
        let constant = [Double](repeating: 0.1, count: 50)
        let steps = constant.indices.map(Double.init)
        #expect(Smoothing.exponential(weight: 0.9).apply(steps: steps, values: constant) == constant)
        #expect(Smoothing.stepWeighted(weight: 0.9).apply(steps: steps, values: constant) == constant)
        #expect(Smoothing.exponential(weight: 0.9).apply(steps: [], values: []) == [])
    }

    @Test func noneReturnsTheValues() {
        let values = noisySeries(count: 20, seed: 1)
        #expect(Smoothing.none.apply(steps: values.indices.map(Double.init), values: values) == values)
    }

    @Test func stepWeightedWithUnitSpacingEqualsExponential() {
        let values = noisySeries(count: 300, seed: 3)
        let steps = values.indices.map { Double($0) + 1000 }
        for weight in [0.0, 0.5, 0.9] {
            expectClose(Smoothing.stepWeighted(weight: weight).apply(steps: steps, values: values),
                        Smoothing.exponential(weight: weight).apply(steps: steps, values: values))
        }
    }

    @Test func stepWeightedWithEvenSpacingEqualsExponentialOfThePoweredWeight() {
        // Points every 10 steps decay by w¹⁰ each.
        let values = noisySeries(count: 300, seed: 4)
        let steps = values.indices.map { Double($0) * 10 }
        expectClose(Smoothing.stepWeighted(weight: 0.99).apply(steps: steps, values: values),
                    Smoothing.exponential(weight: pow(0.99, 10)).apply(steps: steps, values: values))
    }

    @Test func stepWeightedGapHoldsTheValueOverTheSkippedSteps() {
        // Steps 0, 1, 2, 5: the last point stands for steps 3, 4 and 5, so it equals the plain
        // EMA of [1, 2, 3, 4, 4, 4] at its end: last = 241/64, 1 − w⁶ = 63/64 → 241/63.
        // (The first point stands for as many steps as the gap after it: one.)
        let smoothed = Smoothing.stepWeighted(weight: 0.5).apply(steps: [0, 1, 2, 5], values: [1, 2, 3, 4])
        expectClose(smoothed, [1, 5.0 / 3, 17.0 / 7, 241.0 / 63])
        let held = Smoothing.exponential(weight: 0.5).apply(steps: [0, 1, 2, 3, 4, 5], values: [1, 2, 3, 4, 4, 4])
        expectClose([smoothed[3]], [held[5]])
    }

    @Test func stepWeightedDoesNotChangeWithLoggingDensity() {
        // A signal logged once every 10 steps, or at every step holding each logged value over
        // the 10 steps it stands for (steps 10k − 9 … 10k; the first point, like the others,
        // stands for 10): the same curve at the common steps.
        let blocks = noisySeries(count: 40, seed: 5)
        let sparseSteps = blocks.indices.map { Double($0 * 10) }
        let denseSteps = (-9...390).map(Double.init)
        let dense = (-9...390).map { blocks[($0 + 9) / 10] }
        let sparseSmoothed = Smoothing.stepWeighted(weight: 0.95).apply(steps: sparseSteps, values: blocks)
        let denseSmoothed = Smoothing.stepWeighted(weight: 0.95).apply(steps: denseSteps, values: dense)
        expectClose(sparseSmoothed, sparseSteps.map { denseSmoothed[Int($0) + 9] })
        // TensorBoard's EMA decays per point, not per step: on the sparse series it differs.
        let plain = Smoothing.exponential(weight: 0.95).apply(steps: sparseSteps, values: blocks)
        #expect(abs(plain[39] - sparseSmoothed[39]) > 1e-3)
    }

    @Test func stepWeightedCountsRepeatedOrBackwardStepsAsOneStep() {
        let values = [1.0, 2, 3, 4]
        expectClose(Smoothing.stepWeighted(weight: 0.5).apply(steps: [0, 1, 1, 2], values: values),
                    Smoothing.exponential(weight: 0.5).apply(steps: [0, 1, 2, 3], values: values))
        expectClose(Smoothing.stepWeighted(weight: 0.5).apply(steps: [5, 6, 2, 3], values: values),
                    Smoothing.exponential(weight: 0.5).apply(steps: [0, 1, 2, 3], values: values))
    }

    @Test func stepWeightedPassesNonFiniteThroughWithoutAdvancing() {
        let smoothed = Smoothing.stepWeighted(weight: 0.5).apply(steps: [0, 1, 2, .nan, 3], values: [1, .nan, 2, 7, 3])
        #expect(smoothed[1].isNaN)
        #expect(smoothed[3] == 7)
        // Step 0 stands for two steps, as the next finite point, step 2, is two steps on:
        // a = 0.25, 0.25, 0.5 → last: 0.75, 0.1875 + 1.5 = 1.6875, 0.84375 + 1.5 = 2.34375;
        // norm: 0.75, 0.9375, 0.96875.
        expectClose([smoothed[0], smoothed[2], smoothed[4]], [1, 1.6875 / 0.9375, 2.34375 / 0.96875])
    }
}
