// report.html's health, quality and views parts: alarms most recent first with the step each
// began at, quality charts only for runs that measure quality, and the latent views linked.
@testable import AgonAggregator
import AgonRunStore
import Foundation
import Testing

@Suite struct ReportTests {
    /// A run folder with a store of 20 steps of one worker, `quality` values at steps 10 and 20.
    static func run(quality: Bool) throws -> (RunStore, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agon-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try RunStore(path: directory + "/run.db")
        try store.append((0..<20).map { i in
            RunEvent(worker: "worker-0", seq: Int64(i), step: Int64(i + 1), wallTime: 1,
                     payload: .scalars([ScalarValue(tag: "g_loss", value: 1), ScalarValue(tag: "d_loss", value: 0.5)]))
        })
        if quality {
            try store.append([10, 20].enumerated().map { i, step in
                RunEvent(worker: "coordinator", seq: Int64(i), step: Int64(step), wallTime: 1,
                         payload: .scalars([ScalarValue(tag: "quality/fid", value: 80 / Double(i + 1)), ScalarValue(tag: "quality/precision", value: 0.5),
                                            ScalarValue(tag: "quality/recall", value: 0.4), ScalarValue(tag: "quality/coverage", value: 0.3),
                                            ScalarValue(tag: "quality/class_entropy", value: 0.9)]))
            })
        }
        return (store, directory)
    }

    @Test("alarms are listed most recent first, each with the step it began at and its explanation")
    func alarmsMostRecentFirst() throws {
        let (store, directory) = try Self.run(quality: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try store.append([
            RunEvent(worker: "aggregator", seq: 0, step: 5, wallTime: 2, payload: .alarm(name: "gradient_norm_bound", message: "G's norm <exploded>")),
            RunEvent(worker: "aggregator", seq: 1, step: 12, wallTime: 3, payload: .alarm(name: "mode_collapse", message: "one class")),
        ])
        try Renderer(store: store, runDirectory: directory).renderAll()
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        let collapse = try #require(html.range(of: "<tr><td><code>mode_collapse</code></td><td>12</td><td>one class</td>"))
        let bound = try #require(html.range(of: "<tr><td><code>gradient_norm_bound</code></td><td>5</td><td>G's norm &lt;exploded&gt;</td>"))
        #expect(collapse.lowerBound < bound.lowerBound, "most recent first")
        #expect(html.range(of: "<h2>Health</h2>")!.lowerBound < html.range(of: "<h2>Latest</h2>")!.lowerBound)
    }

    @Test("a run without alarms says which detectors watched; one without quality events gets no quality charts")
    func noAlarmsNoQuality() throws {
        let (store, directory) = try Self.run(quality: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Renderer(store: store, runDirectory: directory).renderAll()
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("No alarms. Watched: <code>discriminator_overpowering</code>"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/plots/quality_fid.svg"))
        #expect(html.contains("No views yet: <code>agon latent RUN</code>"))
    }

    @Test("quality events get an FID chart and a precision/recall/coverage/entropy chart, on the report")
    func qualityCharts() throws {
        let (store, directory) = try Self.run(quality: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Renderer(store: store, runDirectory: directory).renderAll()
        for file in ["quality_fid", "quality_coverage"] {
            for ext in ["png", "svg"] {
                #expect(FileManager.default.fileExists(atPath: "\(directory)/plots/\(file).\(ext)"), "\(file).\(ext)")
            }
        }
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("<img src=\"plots/quality_fid.svg\""))
        #expect(html.contains("<img src=\"plots/quality_coverage.svg\""))
    }

    @Test("the views agon latent wrote are shown, the latest in plots/, earlier ones linked by step, newest first")
    func views() throws {
        let (store, directory) = try Self.run(quality: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fm = FileManager.default
        for path in ["plots/pca.svg", "plots/nearest.png", "plots/latent/step-00001000/tsne.svg", "plots/latent/step-00002000/pca.svg",
                     "plots/latent/step-00002000/interpolation.png", "plots/latent/step-00003000/unrelated.txt"] {
            try fm.createDirectory(atPath: directory + "/" + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            fm.createFile(atPath: directory + "/" + path, contents: Data("x".utf8))
        }
        try Renderer(store: store, runDirectory: directory).renderAll()
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("<img src=\"plots/pca.svg\""))
        #expect(html.contains("<img src=\"plots/nearest.png\""))
        #expect(!html.contains("<img src=\"plots/tsne.svg\""), "only views that exist")
        let newer = try #require(html.range(of: "<li>step 2000: <a href=\"plots/latent/step-00002000/pca.svg\">pca.svg</a> · <a href=\"plots/latent/step-00002000/interpolation.png\">interpolation.png</a></li>"))
        let older = try #require(html.range(of: "<li>step 1000: <a href=\"plots/latent/step-00001000/tsne.svg\">tsne.svg</a></li>"))
        #expect(newer.lowerBound < older.lowerBound)
        #expect(!html.contains("step 3000"), "a folder without views is not listed")
    }
}
