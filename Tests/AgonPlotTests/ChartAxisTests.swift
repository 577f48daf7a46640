// Axis ticks and labels: 1-2-5 steps on linear axes, powers of ten (or 1-2-5 multiples inside a
// narrow range) on log axes, and labels that read as people write numbers.

@testable import AgonPlot
import Testing

@Suite struct ChartAxisTests {
    @Test func linearTicksAreOneTwoFiveSteps() {
        // 999,999 / 6 ≈ 1.67 · 10⁵: between √2 and √10 → a step of 2 · 10⁵.
        let steps = ChartAxis(linearFrom: 0, to: 999_999, targetTicks: 6)
        #expect(steps.lower == 0 && steps.upper == 999_999)
        #expect(steps.ticks == [0, 200_000, 400_000, 600_000, 800_000])
        #expect(steps.labels == ["0", "200k", "400k", "600k", "800k"])

        // Padded by 5 %: [0.222, 2.158]; 1.936 / 6 ≈ 0.32, above √10 · 0.1 → a step of 0.5.
        let loss = ChartAxis(linearFrom: 0.31, to: 2.07, targetTicks: 6, margin: 0.05)
        #expect(abs(loss.lower - 0.222) < 1e-12 && abs(loss.upper - 2.158) < 1e-12)
        #expect(loss.labels == ["0.5", "1", "1.5", "2"])

        let negative = ChartAxis(linearFrom: -0.013, to: 0.004, targetTicks: 5)
        #expect(negative.labels == ["−0.01", "−0.005", "0"])

        let fine = ChartAxis(linearFrom: 0.1, to: 0.3, targetTicks: 2)
        #expect(fine.labels == ["0.1", "0.2", "0.3"])
        #expect(ChartAxis(linearFrom: 10_000, to: 15_000, targetTicks: 5).labels == ["10k", "11k", "12k", "13k", "14k", "15k"])
        #expect(ChartAxis(linearFrom: 1.2e6, to: 2.6e6, targetTicks: 3).labels == ["1.5M", "2M", "2.5M"])
    }

    @Test func degenerateLinearRangesAreWidened() {
        let constant = ChartAxis(linearFrom: 3, to: 3, targetTicks: 5)
        #expect(constant.lower < 3 && constant.upper > 3)
        let zero = ChartAxis(linearFrom: 0, to: 0, targetTicks: 5)
        #expect(zero.lower <= -1 && zero.upper >= 1)
        let broken = ChartAxis(linearFrom: -.infinity, to: .nan, targetTicks: 5)
        #expect(broken.lower == 0 && broken.upper == 1)
    }

    @Test func logTicksArePowersOfTen() {
        let wide = ChartAxis(logFrom: 3e-4, to: 20)
        #expect(wide.ticks == [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100])
        #expect(wide.labels == ["10⁻⁴", "0.001", "0.01", "0.1", "1", "10", "100"])
        #expect(wide.minorTicks.contains(2e-4) && wide.minorTicks.contains(50))

        let veryWide = ChartAxis(logFrom: 1e-30, to: 1e30)
        #expect(veryWide.ticks.count <= 9 && veryWide.ticks.first == 1e-32 && veryWide.minorTicks.isEmpty)
    }

    @Test func narrowLogRangesUseOneTwoFiveMultiples() {
        let loss = ChartAxis(logFrom: 0.45, to: 3.6)
        #expect(loss.ticks == [0.5, 1, 2])
        #expect(loss.lower < 0.45 && loss.upper > 3.6)
        // No 1-2-5 multiple lies in [0.61, 0.97]: every integer multiple is labelled.
        let narrower = ChartAxis(logFrom: 0.62, to: 0.95)
        #expect(narrower.labels == ["0.7", "0.8", "0.9"])
        let tiny = ChartAxis(logFrom: 0.651, to: 0.652)
        #expect(tiny.ticks.count >= 2 && tiny.ticks.allSatisfy { $0 >= tiny.lower && $0 <= tiny.upper })
    }

    @Test func fractionsMapTheDomainToZeroOne() {
        let linear = ChartAxis(linearFrom: 0, to: 10, targetTicks: 5)
        #expect(linear.fraction(0) == 0 && linear.fraction(10) == 1 && linear.fraction(5) == 0.5)
        let log = ChartAxis(logFrom: 1, to: 100)
        #expect(abs(log.fraction(10) - 0.5) < 1e-12)
    }

    @Test func countsHaveThousandsSeparators() {
        #expect(ChartAxis.grouped(0) == "0")
        #expect(ChartAxis.grouped(999) == "999")
        #expect(ChartAxis.grouped(4_000_000) == "4,000,000")
        #expect(ChartAxis.grouped(12_345) == "12,345")
    }
}
