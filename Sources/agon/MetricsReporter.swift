// Sends a role's metrics and images to the aggregator as events (the command line's glue
// between a role's callbacks and AgonWire's EventSource).
import AgonTraining
import AgonWire
import Foundation

/// One event source for a worker or the coordinator; failures are logged, never fatal to training.
final class MetricsReporter: @unchecked Sendable {
    private let context: WireContext
    private let source: EventSource
    private var failed = false

    init(endpoint: String, source name: String) throws {
        context = try WireContext()
        source = try EventSource(context: context, endpoint: endpoint, run: "", source: name, log: logLine)
        try source.record(step: 0, .worker(host: ProcessInfo.processInfo.hostName, pid: getpid(), rank: -1))
    }

    /// One step's metrics as one scalar event.
    func record(_ metrics: StepMetrics) {
        record(step: metrics.step, scalars: metrics.namedValues)
    }

    /// Named values measured at `step` (the coordinator's `quality/…` tags) as one scalar event.
    func record(step: Int, scalars: [(tag: String, value: Double)]) {
        send(step: step, .scalars(scalars.map { WireScalar(tag: $0.tag, value: $0.value) }))
    }

    /// A PNG image (a sample grid) as one event.
    func record(step: Int, tag: String, width: Int, height: Int, png: [UInt8]) {
        send(step: step, .image(tag: tag, width: Int32(width), height: Int32(height), png: png))
    }

    private func send(step: Int, _ payload: WireEvent.Payload) {
        do {
            try source.record(step: Int64(step), payload)
        } catch {
            if !failed { logLine("\(source.source): cannot send events to the aggregator: \(error)") }
            failed = true
        }
    }

    /// Waits (up to `timeout` seconds) until the aggregator has stored everything.
    func finish(timeout: Double = 30) {
        _ = try? source.drain(timeout: timeout)
    }
}
