// RUN/report.html: one static page (no server, no network) with every chart, the latest
// numbers, the health alarms, every sample grid under a step slider, and the latent views; it
// reloads itself while the run is live.
import AgonRunStore
import Foundation

/// Writes the run's report page.
struct Report {
    let store: RunStore
    let runDirectory: String

    /// The page, from what `Renderer` drew; `live` adds a 5-second reload.
    func write(charts: [Renderer.Chart], samples: [(step: Int64, file: String)], live: Bool) throws {
        let workers = try store.workers().filter { $0 != HealthMonitor.source }
        var rows = ""
        for chart in charts {
            for (tag, name) in chart.tags {
                var latest: [(worker: String, step: Int64, value: Double)] = []
                for worker in workers {
                    let series = try store.scalars(tag: tag, worker: worker)
                    if let step = series.steps.last, let value = series.values.last { latest.append((worker, step, value)) }
                }
                guard !latest.isEmpty else { continue }
                let mean = latest.map(\.value).reduce(0, +) / Double(latest.count)
                let perWorker = latest.map { "\(escape($0.worker)) \(format($0.value)) @\($0.step)" }.joined(separator: "<br>")
                rows += "<tr><td>\(escape(chart.title)): \(escape(name))</td><td>\(format(mean))</td><td class=w>\(perWorker)</td></tr>\n"
            }
        }
        let figures = charts.map { "<figure><img src=\"plots/\($0.file).svg\" alt=\"\(escape($0.title))\"></figure>" }.joined(separator: "\n")
        let files = samples.map { "\"samples/\($0.file)\"" }.joined(separator: ",")
        let steps = samples.map { String($0.step) }.joined(separator: ",")
        let sampleBlock = samples.isEmpty ? "<p>No sample grids yet.</p>" : """
            <p><input id=slider type=range min=0 max=\(samples.count - 1) value=\(samples.count - 1) style="width:60%">
            step <span id=step></span> (\(samples.count) grids)</p>
            <img id=grid alt="G on fixed noise"><p><img src="samples/timeline.png" alt="timeline" style="max-width:100%"></p>
            <script>
            const files=[\(files)], steps=[\(steps)], s=document.getElementById('slider');
            function show(){document.getElementById('grid').src=files[s.value];document.getElementById('step').textContent=steps[s.value];}
            s.oninput=show; show();
            </script>
            """
        let html = """
            <!doctype html>
            <html><head><meta charset="utf-8">\(live ? "<meta http-equiv=\"refresh\" content=\"5\">" : "")
            <title>Agon run: \(escape(URL(fileURLWithPath: runDirectory).lastPathComponent))</title>
            <style>body{font-family:sans-serif;margin:2em;color:#222}figure{display:inline-block;margin:.5em}
            figure img{width:600px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
            td.w{font-size:85%;color:#555}table.alarms td{vertical-align:top}p.ok{color:#2a6}
            figcaption{font-size:85%;color:#555}p.w{font-size:85%;color:#555}</style></head><body>
            <h1>Agon run \(escape(URL(fileURLWithPath: runDirectory).lastPathComponent))</h1>
            <p>\(workers.count) event source(s), \(try store.scalarCount()) scalar values; \(live ? "live: this page reloads every 5 s" : "final")
            (written \(ISO8601DateFormatter().string(from: Date()))).</p>
            <h2>Health</h2>
            \(try alarmsSection())
            <h2>Run</h2>
            \(try runSection())
            <h2>Latest</h2><table><tr><th>metric</th><th>mean over workers</th><th>each worker @step</th></tr>
            \(rows)</table>
            <h2>Charts</h2>
            \(figures)
            <h2>Samples: G on fixed noise</h2>
            \(sampleBlock)
            <h2>Views</h2>
            \(viewsSection())
            </body></html>
            """
        try Data(html.utf8).write(to: URL(fileURLWithPath: runDirectory + "/report.html"), options: .atomic)
    }

    private func format(_ value: Double) -> String { String(format: "%.4g", value) }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
