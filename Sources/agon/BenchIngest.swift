// `agon bench ingest`: scalar values per second from N worker processes over ZeroMQ into an
// aggregator's run.db, counted when every one of them is stored and acknowledged.
import AgonAggregator
import AgonPlot
import AgonRunStore
import AgonTraining
import AgonWire
import ArgumentParser
import Foundation

struct BenchIngest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Scalar values/s from worker processes into run.db, stored and acknowledged.",
        discussion: "Each worker process sends events of 11 scalars (like a training step's metrics), as fast as it can.")

    @Option(help: "Worker processes.")
    var workers: Int = 4

    @Option(help: "Events (steps of 11 scalars) per worker.")
    var events: Int = 50_000

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: .hidden)
    var source: String?

    func run() throws {
        if let source {
            try runSource(endpoint: source)
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agon-bench-ingest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = AggregatorConfiguration(bind: "tcp://127.0.0.1:*", runDirectory: dir)
        configuration.renderInterval = 1e9
        let aggregator = try Aggregator(configuration: configuration, log: { _ in })
        let stop = StopFlag()
        let serving = Thread { try? aggregator.run { stop.isStopped } }
        serving.start()

        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let start = Date()
        let children = try (0..<workers).map { _ -> Process in
            let child = Process()
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = ["bench", "ingest", "--source", aggregator.endpoint, "--events", String(events)]
            try child.run()
            return child
        }
        for child in children { child.waitUntilExit() }
        let seconds = Date().timeIntervalSince(start)
        stop.stop()
        while !serving.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        guard children.allSatisfy({ $0.terminationStatus == 0 }) else {
            throw RuntimeError("bench ingest: a source process failed")
        }
        let stored = try RunStore(path: dir + "/run.db", readOnly: true).scalarCount()
        let expected = workers * events * 11
        guard stored == expected else { throw RuntimeError("bench ingest: \(stored) scalars stored, \(expected) sent") }
        let rate = Double(stored) / seconds
        if json {
            print(String(format: #"{"workers":%d,"scalars":%d,"seconds":%.3f,"scalars_per_s":%.0f}"#, workers, stored, seconds, rate))
        } else {
            print(String(format: "%d workers sent %d scalars; all stored and acknowledged in %.2f s: %.0f scalars/s", workers, stored, seconds, rate))
        }
    }

    /// A source: `events` steps of 11 scalars, then waits until all are acknowledged.
    private func runSource(endpoint: String) throws {
        let context = try WireContext()
        let name = "bench-" + String(UUID().uuidString.prefix(8))
        let events = try EventSource(context: context, endpoint: endpoint, run: "bench", source: name, log: { _ in })
        let tags = ["g_loss", "d_loss", "d_real_loss", "d_fake_loss", "acc_real", "acc_fake", "d_x", "d_g_z",
                    "g_grad_norm", "d_grad_norm", "step_time_s"]
        for step in 0..<self.events {
            try events.record(step: Int64(step), .scalars(tags.enumerated().map { WireScalar(tag: $0.element, value: Double(step + $0.offset)) }))
        }
        guard try events.drain(timeout: 120) else { throw RuntimeError("bench ingest: \(name) was not fully acknowledged") }
    }
}

/// `agon bench render`: one chart of N points per worker.
struct BenchRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Seconds to draw one chart (every worker, mean, band) of N points per worker to PNG.")

    @Option(help: "Points per worker.")
    var points: Int = 1_000_000

    @Option(help: "Workers.")
    var workers: Int = 4

    @Flag(help: "One JSON object per line.")
    var json = false

    func run() throws {
        var times: [Double] = []
        for _ in 0..<3 { times.append(try LineChart.benchmark(pointsPerWorker: points, workers: workers)) }
        times.sort()
        if json {
            print(String(format: #"{"points_per_worker":%d,"workers":%d,"median_s":%.3f}"#, points, workers, times[1]))
        } else {
            print(String(format: "%d workers × %d points: %.3f s per chart (median of 3)", workers, points, times[1]))
        }
    }
}

