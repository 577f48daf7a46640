// What a line chart computes before drawing: the cross-worker mean and band over the workers
// that logged each step, cleaning and sorting of each worker's points, smoothing before
// downsampling.

@testable import AgonPlot
import Foundation
import Testing

@Suite struct LineChartDataTests {
    @Test func meanAndBandAreOverTheWorkersThatLoggedTheStep() {
        // Worker a logs steps 0, 1, 2, 4; b logs 1, 2, 3; c logs 2 only.
        let merged = LineChart.mergeWorkers([
            (steps: [0, 1, 2, 4], values: [1, 2, 3, 5]),
            (steps: [1, 2, 3], values: [4, 6, 8]),
            (steps: [2], values: [0]),
        ])
        #expect(merged.steps == [0, 1, 2, 3, 4])
        #expect(merged.mean == [1, 3, 3, 8, 5])
        #expect(merged.low == [1, 2, 0, 8, 5])
        #expect(merged.high == [1, 4, 6, 8, 5])
    }

    @Test func aRepeatedStepCountsOnceWithItsLaterValue() {
        let merged = LineChart.mergeWorkers([
            (steps: [0, 1, 1, 2], values: [1, 10, 3, 5]),
            (steps: [0, 1, 2], values: [3, 5, 7]),
        ])
        #expect(merged.steps == [0, 1, 2])
        #expect(merged.mean == [2, 4, 6])
    }

    @Test func cleaningDropsAndSortsStably() {
        let cleaned = LineChart.clean(steps: [3, 1, .nan, 2, 1, 0], values: [30, 10, 7, -2, 11, .infinity], positiveOnly: true)
        #expect(cleaned.nonFinite == 2)
        #expect(cleaned.nonPositive == 1)
        #expect(cleaned.steps == [1, 1, 3])
        #expect(cleaned.values == [10, 11, 30])
        let linear = LineChart.clean(steps: [2, 0, 1], values: [-2, 0, 1], positiveOnly: false)
        #expect(linear.steps == [0, 1, 2] && linear.values == [0, 1, -2] && linear.nonPositive == 0)
    }

    @Test func smoothingRunsOnTheFullMeanBeforeDownsampling() {
        let steps = (0..<10_000).map(Double.init)
        let values = steps.map { $0.truncatingRemainder(dividingBy: 7) }
        let series = ChartSeries(name: "x", workers: [("a", steps, values)])
        let chart = LineChart([series], smoothing: .exponential(weight: 0.9), bucketsPerLine: 50)
        let full = Smoothing.exponential(weight: 0.9).apply(steps: steps, values: values)
        let expected = minMaxDownsample(x: steps, y: full, buckets: 50)
        let mean = chart.prepared.series[0].mean
        #expect(mean.x == expected.x && mean.y == expected.y)
        #expect(chart.prepared.series[0].rawMean?.x.count == 100)
    }

    @Test func bandEnvelopeCoversEveryWorker() {
        let steps = (0..<5000).map(Double.init)
        let series = ChartSeries(name: "x", workers: [
            ("a", steps, steps.map { sin($0 / 40) }),
            ("b", steps, steps.map { cos($0 / 30) * 1.5 }),
        ])
        let prepared = LineChart([series], bucketsPerLine: 100).prepared.series[0]
        #expect(prepared.bandX.count <= 200)
        #expect(prepared.bandLower.min() == min(steps.map { sin($0 / 40) }.min()!, steps.map { cos($0 / 30) * 1.5 }.min()!))
        #expect(prepared.bandUpper.max() == max(steps.map { sin($0 / 40) }.max()!, steps.map { cos($0 / 30) * 1.5 }.max()!))
        #expect(zip(prepared.bandLower, prepared.bandUpper).allSatisfy { $0 <= $1 })
    }
}
