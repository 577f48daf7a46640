// LineChart: PNG decoded back with Cairo has the size asked for and drawn pixels; SVG is an
// SVG document; "N of M points drawn" counts right; log scale, empty and odd input render.

import AgonPlot
import CCairo
import Foundation
import Testing

private typealias DecodedPNG = DecodedImage

private func decode(_ bytes: [UInt8]) throws -> DecodedPNG { try DecodedImage(png: bytes) }

private let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

/// Two series ("G loss" over 3 workers, "D loss" over 2), `count` steps each, fixed seed.
private func losses(count: Int) -> [ChartSeries] {
    var state: UInt64 = 11
    func noise() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53) - 0.5
    }
    func worker(_ k: Int, base: Double) -> ChartSeries.Worker {
        let steps = (0..<count).map { Double($0 * 5) }
        return ("worker \(k)", steps, steps.map { base + exp(-$0 / Double(count)) + 0.2 * noise() })
    }
    return [ChartSeries(name: "G loss", group: "loss", workers: (0..<3).map { worker($0, base: 1) }),
            ChartSeries(name: "D loss", group: "loss", workers: (0..<2).map { worker($0, base: 0.4) })]
}

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "agon-linechart-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct LineChartTests {
    @Test func pngHasTheSizeAndDrawnPixels() throws {
        let chart = LineChart(losses(count: 3000), title: "Losses", yLabel: "loss", smoothing: .exponential(weight: 0.6))
        let bytes = try chart.pngData()
        #expect(Array(bytes.prefix(8)) == pngSignature)
        let image = try decode(bytes)
        #expect(image.width == 900 && image.height == 500)
        let white: UInt32 = 0xFFFF_FFFF
        let inked = image.pixels.filter { $0 != white }.count
        #expect(inked > image.pixels.count / 20, "only \(inked) of \(image.pixels.count) pixels drawn")
        // Both series' colours (blue, then orange) appear: some pixel is clearly blue, some orange.
        func channels(_ p: UInt32) -> (Int, Int, Int) { (Int(p >> 16 & 0xFF), Int(p >> 8 & 0xFF), Int(p & 0xFF)) }
        #expect(image.pixels.contains { let (r, _, b) = channels($0); return b > r + 80 })
        #expect(image.pixels.contains { let (r, _, b) = channels($0); return r > b + 120 })
    }

    @Test func sizeIsHonored() throws {
        let chart = LineChart(losses(count: 50), width: 640, height: 360)
        let image = try decode(try chart.pngData())
        #expect(image.width == 640 && image.height == 360)
    }

    @Test func svgIsAnSVGDocument() throws {
        let chart = LineChart(losses(count: 500), title: "Losses")
        let text = String(decoding: try chart.svgData(), as: UTF8.self)
        #expect(text.hasPrefix("<?xml"))
        #expect(text.contains("<svg"))
        #expect(text.contains("width=\"900\""))
    }

    @Test func filesAreWrittenWholeWithNoTemporaryLeft() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let chart = LineChart(losses(count: 100))
        try chart.writePNG(to: directory + "/loss.png")
        try chart.writePNG(to: directory + "/loss.png")
        try chart.writeSVG(to: directory + "/loss.svg")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["loss.png", "loss.svg"])
        let png = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/loss.png")))
        #expect(try decode(png).pixels == (try decode(try chart.pngData())).pixels)
        let error = try #require(throws: PlotError.self) { try chart.writePNG(to: "/nonexistent-agon-dir/loss.png") }
        #expect(error.code == .write)
    }

    @Test func pointCountsAreNOfM() {
        // G: 3 workers × 5000 points, reduced to 2 per bucket → 200 each; D: 2 × 5000 → 200 each.
        let chart = LineChart(losses(count: 5000), bucketsPerLine: 100)
        #expect(chart.totalPointCount == 25_000)
        #expect(chart.drawnPointCount == 1000)
        #expect(chart.annotation == "1,000 of 25,000 points drawn")
        // Small series are drawn whole.
        let small = LineChart(losses(count: 150), bucketsPerLine: 100)
        #expect(small.drawnPointCount == 750 && small.totalPointCount == 750)
        #expect(small.annotation == "750 of 750 points drawn")
    }

    @Test func nonFinitePointsAreCountedAndNotDrawn() throws {
        let series = ChartSeries(name: "loss", workers: [
            ("a", [0, 1, 2, 3, .nan], [1, .nan, 2, .infinity, 5]),
            ("b", [0, 1, 2], [1, 2, 3]),
        ])
        let chart = LineChart([series])
        #expect(chart.totalPointCount == 8)
        #expect(chart.nonFinitePointCount == 3)
        #expect(chart.drawnPointCount == 5)
        #expect(chart.annotation == "5 of 8 points drawn (skipped: 3 non-finite)")
        #expect(Array(try chart.pngData().prefix(8)) == pngSignature)
    }

    @Test func logScaleDropsNonPositiveValuesWithoutCrashing() throws {
        let series = ChartSeries(name: "grad norm", workers: [
            ("a", [0, 1, 2, 3, 4], [0, -1, 0.5, 10, 1e-3]),
            ("b", [0, 1, 2, 3, 4], [2, 0, -0, 4, 3e5]),
        ])
        let chart = LineChart([series], yScale: .log, smoothing: .stepWeighted(weight: 0.9))
        #expect(chart.nonPositivePointCount == 4)
        #expect(chart.drawnPointCount == 6)
        #expect(chart.annotation == "6 of 10 points drawn (skipped: 4 ≤ 0 on log scale)")
        #expect(Array(try chart.pngData().prefix(8)) == pngSignature)
        #expect(String(decoding: try chart.svgData(), as: UTF8.self).contains("<svg"))
        // Nothing positive at all: an empty chart, not a crash.
        let nothing = LineChart([ChartSeries(name: "zero", workers: [("a", [0, 1], [0, -2])])], yScale: .log)
        #expect(nothing.drawnPointCount == 0 && nothing.nonPositivePointCount == 2)
        #expect(try decode(try nothing.pngData()).width == 900)
    }

    @Test func emptyInputDrawsAnEmptyChart() throws {
        for chart in [LineChart([], title: "nothing yet"),
                      LineChart([ChartSeries(name: "G loss", workers: [])]),
                      LineChart([ChartSeries(name: "G loss", workers: [("a", [], [])])], yScale: .log)] {
            #expect(chart.totalPointCount == 0 && chart.drawnPointCount == 0)
            #expect(chart.annotation == "0 of 0 points drawn")
            let image = try decode(try chart.pngData())
            #expect(image.width == 900 && image.pixels.contains { $0 != 0xFFFF_FFFF })
            #expect(String(decoding: try chart.svgData(), as: UTF8.self).hasPrefix("<?xml"))
        }
    }

    @Test func oddInputRenders() throws {
        let odd: [[ChartSeries]] = [
            [ChartSeries(name: "one point", workers: [("a", [7], [0.5])])],
            [ChartSeries(name: "constant", workers: [("a", [0, 1, 2], [3, 3, 3]), ("b", [1, 2], [3, 3])])],
            [ChartSeries(name: "one step", workers: [("a", [5, 5, 5], [1, 2, 3])])],
            [ChartSeries(name: "restart", workers: [("a", [0, 1, 2, 3, 1, 2, 3, 4], [4, 3, 2, 1, 3.5, 2.5, 1.5, 0.5])])],
            [ChartSeries(name: "huge", workers: [("a", [0, 1, 2], [-1e300, 1e300, 0])])],
            [ChartSeries(name: "tiny", workers: [("a", [0, 1e-9, 2e-9], [1e-300, 2e-300, Double.leastNonzeroMagnitude])])],
        ]
        for series in odd {
            for scale in [LineChart.Scale.linear, .log] {
                let chart = LineChart(series, title: series[0].name, yScale: scale, smoothing: .exponential(weight: 0.5))
                #expect(Array(try chart.pngData().prefix(8)) == pngSignature, "\(series[0].name), \(scale)")
            }
        }
    }

    @Test func oversizedChartThrowsInsteadOfCrashing() throws {
        let chart = LineChart(losses(count: 10), width: 40_000)
        let error = try #require(throws: PlotError.self) { try chart.pngData() }
        #expect(error.code == .imageTooLarge)
        #expect(throws: PlotError.self) { try chart.svgData() }
    }

    @Test func renderTimeForFourWorkersOfAMillionPoints() throws {
        let seconds = try LineChart.benchmark(pointsPerWorker: 1_000_000, workers: 4)
        print("LineChart: 4 workers × 1,000,000 points built and rendered to PNG in \(seconds) s (this build's optimisation level)")
        #expect(seconds > 0)
    }
}
