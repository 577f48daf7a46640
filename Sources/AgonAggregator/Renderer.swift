// Draws a run from run.db: one chart per pair of metrics (every worker faint, the cross-worker
// mean bold with its min–max band), PNG and SVG, and every sample grid as a PNG file.
import AgonPlot
import AgonRunStore
import Foundation

/// Renders the charts, sample grids and report of the run in `runDirectory` from its store.
public struct Renderer {
    let store: RunStore
    let runDirectory: String

    /// A renderer of the run in `runDirectory` whose events are in `store`.
    public init(store: RunStore, runDirectory: String) {
        self.store = store
        self.runDirectory = runDirectory
    }

    /// A chart: file name, title, y label, the tags it draws with their legend names, y scale.
    struct Chart {
        let file: String
        let title: String
        let yLabel: String
        let tags: [(tag: String, name: String)]
        let scale: LineChart.Scale
    }

    /// The charts every run gets, from the metrics each worker sends per step.
    static let charts = [
        Chart(file: "losses", title: "G and D loss", yLabel: "loss", tags: [("g_loss", "G loss"), ("d_loss", "D loss")], scale: .linear),
        Chart(file: "accuracy", title: "D accuracy on real and on generated data", yLabel: "accuracy",
              tags: [("acc_real", "on real"), ("acc_fake", "on fake")], scale: .linear),
        Chart(file: "d_outputs", title: "D(x) and D(G(z))", yLabel: "mean D output",
              tags: [("d_x", "D(x)"), ("d_g_z", "D(G(z))")], scale: .linear),
        Chart(file: "gradient_norms", title: "Gradient norms", yLabel: "L2 norm",
              tags: [("g_grad_norm", "G"), ("d_grad_norm", "D")], scale: .log),
        Chart(file: "step_time", title: "Step time", yLabel: "seconds", tags: [("step_time_s", "step time")], scale: .linear),
        Chart(file: "throughput", title: "Throughput per worker", yLabel: "samples/s", tags: [("samples_per_s", "samples/s")], scale: .linear),
    ]

    /// The charts of sample quality, from the `quality/*` events sent every M steps (`--quality-every`):
    /// drawn once the run has one. FID on a log axis, as it falls over orders of magnitude.
    static let qualityCharts = [
        Chart(file: "quality_fid", title: "FID on the classifier's features (lower is better)", yLabel: "FID",
              tags: [("quality/fid", "FID")], scale: .log),
        Chart(file: "quality_coverage", title: "Precision, recall, coverage and class entropy", yLabel: "share",
              tags: [("quality/precision", "precision"), ("quality/recall", "recall"), ("quality/coverage", "coverage"),
                     ("quality/class_entropy", "class entropy (normalized)")], scale: .linear),
    ]

    /// Every chart (PNG and SVG under `plots/`), every sample grid and the timeline
    /// (`samples/`), and `report.html`; `live` makes the report reload itself.
    public func renderAll(live: Bool = false) throws {
        let plots = runDirectory + "/plots"
        try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
        let workers = try store.workers()
        let hasQuality = try store.tags().contains { $0.hasPrefix(HealthMonitor.qualityPrefix) }
        let charts = Self.charts + (hasQuality ? Self.qualityCharts : [])
        for chart in charts {
            var series: [ChartSeries] = []
            for (tag, name) in chart.tags {
                var lines: [ChartSeries.Worker] = []
                for worker in workers {
                    // Steps out of range (stored unchecked by an older build) are left out.
                    let data = try store.scalars(tag: tag, worker: worker)
                    let kept = data.steps.indices.filter { EventLimits.steps.contains(data.steps[$0]) }
                    if !kept.isEmpty { lines.append((worker, kept.map { Double(data.steps[$0]) }, kept.map { data.values[$0] })) }
                }
                series.append(ChartSeries(name: name, workers: lines))
            }
            // Quality is measured every M steps, a few points: drawn as measured, not smoothed.
            let smoothing: Smoothing = Self.qualityCharts.contains { $0.file == chart.file } ? .none : .exponential(weight: 0.6)
            let drawn = LineChart(series, title: chart.title, yLabel: chart.yLabel, yScale: chart.scale, smoothing: smoothing)
            try drawn.writePNG(to: "\(plots)/\(chart.file).png")
            try drawn.writeSVG(to: "\(plots)/\(chart.file).svg")
        }
        let samples = try writeSampleGrids()
        try Report(store: store, runDirectory: runDirectory).write(charts: charts, samples: samples, live: live)
    }

    /// Every stored sample grid as `samples/step-NNNNNNNN.png` (the first source's, if several
    /// sent one for a step; files already there are left alone) and `samples/timeline.png`.
    private func writeSampleGrids() throws -> [(step: Int64, file: String)] {
        let samples = runDirectory + "/samples"
        try FileManager.default.createDirectory(atPath: samples, withIntermediateDirectories: true)
        var written: [(step: Int64, file: String)] = []
        var grids: [(label: String, png: [UInt8])] = []
        let usable = try store.images(tag: "samples").filter {
            EventLimits.steps.contains($0.step) && EventLimits.imageProblem(width: $0.width, height: $0.height, png: $0.png) == nil
        }
        for image in usable where written.last?.step != image.step {
            let file = String(format: "step-%08d.png", image.step)
            if !FileManager.default.fileExists(atPath: samples + "/" + file) {
                try Data(image.png).write(to: URL(fileURLWithPath: samples + "/" + file), options: .atomic)
            }
            written.append((image.step, file))
            grids.append(("step \(image.step)", image.png))
        }
        if !grids.isEmpty { try ImageTimeline(grids: grids).writePNG(to: samples + "/timeline.png") }
        return written
    }
}
