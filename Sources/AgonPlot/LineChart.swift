// A line chart of metrics over steps, consolidated across workers: each worker faintly, their
// mean boldly over a min–max band, rendered with Cairo to PNG or SVG.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Metrics over training steps from every worker on one chart.
///
/// For each series, in its own colour from a fixed palette: every worker's raw points as a thin
/// faint line; behind them the min–max band across workers; over them the cross-worker mean as
/// a bold line, smoothed by `smoothing` (the raw mean then shows faintly behind it). Axes have
/// "nice" ticks (1-2-5 steps; powers of ten on a log scale), grid lines and a legend, and a
/// corner says "N of M points drawn".
///
/// The mean at a step is taken over the workers that logged that step:
/// ```
/// mean(s) = (1 / |W(s)|) · Σ_{w ∈ W(s)} y_w(s),   band(s) = [min, max]_{w ∈ W(s)} y_w(s)
/// ```
/// where W(s) is the set of workers with a point at step s; the mean has a point at every step
/// any worker logged. A worker that logged a step twice (a restart from a checkpoint) counts
/// once there, with its later value. Smoothing runs on the full mean series; every line is
/// then reduced with `minMaxDownsample` to `bucketsPerLine` buckets, and the band with an
/// envelope of the same buckets, so a chart of millions of points draws a few thousand.
///
/// Points with a non-finite step or value are not drawn; on a log scale neither are values
/// ≤ 0. Both are dropped before the mean is taken, and counted (`nonFinitePointCount`,
/// `nonPositivePointCount`). All of this work happens in `init`; rendering only draws.
public struct LineChart: CairoFigure {
    /// How values map to heights.
    public enum Scale: Sendable, Hashable {
        /// Equal differences, equal distances.
        case linear
        /// Equal ratios, equal distances; values ≤ 0 are dropped and counted.
        case log
    }

    /// The title, top left.
    public let title: String
    /// The x axis label, usually "step".
    public let xLabel: String
    /// The y axis label, e.g. the metric and its unit.
    public let yLabel: String
    /// Linear or logarithmic values.
    public let yScale: Scale
    /// How the cross-worker mean is smoothed.
    public let smoothing: Smoothing
    /// The canvas width in pixels (points in SVG).
    public let width: Int
    /// The canvas height in pixels (points in SVG).
    public let height: Int
    /// The buckets each line is reduced to: at most `2 · bucketsPerLine` points per line.
    public let bucketsPerLine: Int

    /// The series' lines, band and counts, ready to draw.
    let prepared: PreparedChart

    /// A chart of `series`, one colour each in order.
    ///
    /// - Precondition: `width ≥ 240`, `height ≥ 180` (room for the axes), `bucketsPerLine ≥ 1`,
    ///   and a smoothing weight in [0, 1).
    public init(_ series: [ChartSeries], title: String = "", xLabel: String = "step", yLabel: String = "",
                yScale: Scale = .linear, smoothing: Smoothing = .none,
                width: Int = 900, height: Int = 500, bucketsPerLine: Int = 2000) {
        precondition(width >= 240 && height >= 180, "a line chart needs at least 240×180 pixels, got \(width)×\(height)")
        precondition(bucketsPerLine >= 1, "a line chart needs at least one bucket per line, got \(bucketsPerLine)")
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.yScale = yScale
        self.smoothing = smoothing
        self.width = width
        self.height = height
        self.bucketsPerLine = bucketsPerLine
        prepared = Self.prepare(series, yScale: yScale, smoothing: smoothing, buckets: bucketsPerLine)
    }

    /// M: the points given, over all series and workers, drawable or not.
    public var totalPointCount: Int { prepared.totalPointCount }
    /// N: the workers' points drawn after downsampling (the derived mean and band not counted).
    public var drawnPointCount: Int { prepared.drawnPointCount }
    /// Points not drawn because their step or value is NaN or infinite.
    public var nonFinitePointCount: Int { prepared.nonFinitePointCount }
    /// Points not drawn because their value is ≤ 0 on a log scale.
    public var nonPositivePointCount: Int { prepared.nonPositivePointCount }

    /// The corner text: "N of M points drawn", then any points that could not be drawn.
    public var annotation: String {
        var text = "\(ChartAxis.grouped(drawnPointCount)) of \(ChartAxis.grouped(totalPointCount)) points drawn"
        var skipped: [String] = []
        if nonPositivePointCount > 0 { skipped.append("\(ChartAxis.grouped(nonPositivePointCount)) ≤ 0 on log scale") }
        if nonFinitePointCount > 0 { skipped.append("\(ChartAxis.grouped(nonFinitePointCount)) non-finite") }
        if !skipped.isEmpty { text += " (skipped: " + skipped.joined(separator: ", ") + ")" }
        return text
    }

    /// Seconds to build and render to PNG one default-sized chart of `workers` workers with
    /// `pointsPerWorker` points each (one series, a noisy falling loss with spikes, smoothed
    /// with `.exponential(weight: 0.6)`). Making the data is not timed; the rest is: dropping
    /// and sorting checks, the cross-worker mean and band, smoothing, downsampling, drawing and
    /// PNG encoding.
    ///
    /// - Throws: `PlotError` if rendering fails.
    /// - Precondition: `pointsPerWorker ≥ 1` and `workers ≥ 1`.
    public static func benchmark(pointsPerWorker: Int, workers: Int) throws -> Double {
        precondition(pointsPerWorker >= 1 && workers >= 1,
                     "a benchmark needs at least one worker and one point, got \(workers) × \(pointsPerWorker)")
        let series = ChartSeries(name: "G loss", workers: (0..<workers).map { syntheticLoss(worker: $0, count: pointsPerWorker) })
        let clock = ContinuousClock()
        var bytes = 0
        let elapsed = try clock.measure {
            let chart = LineChart([series], title: "benchmark", yLabel: "loss", smoothing: .exponential(weight: 0.6))
            bytes = try chart.pngData().count
        }
        precondition(bytes > 0, "the benchmark chart rendered to no bytes")
        let parts = elapsed.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    /// A worker's loss curve for the benchmark: a decay to 0.7, noise and a spike every 100,003
    /// steps, from a fixed-seed SplitMix64 so runs are comparable.
    private static func syntheticLoss(worker: Int, count: Int) -> ChartSeries.Worker {
        var state = 0x9E37_79B9_7F4A_7C15 &* UInt64(worker + 1)
        var steps = [Double](repeating: 0, count: count)
        var values = [Double](repeating: 0, count: count)
        let scale = Double(max(count, 1)) / 5
        for i in 0..<count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let noise = Double(z >> 11) / Double(1 << 53) - 0.5
            let step = Double(i)
            steps[i] = step
            values[i] = 0.7 + 1.5 * exp(-step / scale) + 0.3 * noise + (i % 100_003 == 99_999 ? 2 : 0)
        }
        return ("worker \(worker)", steps, values)
    }
}

extension LineChart {
    /// `width`.
    public var canvasWidth: Int { width }
    /// `height`.
    public var canvasHeight: Int { height }
    /// Draws the chart on a Cairo context of `width` × `height`.
    public func draw(on context: OpaquePointer) { draw(context) }
}
