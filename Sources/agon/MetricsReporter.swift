// Sends a role's metrics and images to the aggregator as events (the command line's glue
// between a role's callbacks and AgonWire's EventSource).
import AgonTraining
import AgonWire
import Foundation

/// One event source for a worker or the coordinator; failures are logged, never fatal to training.
///
/// It connects when `begin` names the source (a worker learns its rank only when it has joined):
/// what is recorded before that is not sent.
final class MetricsReporter: @unchecked Sendable {
    private let context: WireContext
    private let endpoint: String
    private let spoolDirectory: String?
    private let security: WireSocket.Security
    private var source: EventSource?
    private var rank: Int32 = -1
    private var failed = false

    /// A reporter to the aggregator at `endpoint` (CURVE with `security`); with `spoolDirectory`, what is unacknowledged
    /// at a stop is kept there for the next start of the same source.
    init(endpoint: String, spoolDirectory: String?, security: WireSocket.Security = .none) throws {
        context = try WireContext()
        self.endpoint = endpoint
        self.spoolDirectory = spoolDirectory
        self.security = security
    }

    /// The source's name, once begun.
    var name: String? { source?.source }

    /// Names the source and its run generation (and its rank, for a worker); a later call with
    /// another generation starts a new incarnation, and one with another rank records it.
    func begin(source name: String, generation: Int64, rank: Int32 = -1) {
        do {
            if let source {
                guard source.generation != generation || rank != self.rank else { return }
                if source.generation != generation { try source.startIncarnation(generation: generation) }
            } else {
                source = try EventSource(context: context, endpoint: endpoint, run: "", source: name, generation: generation,
                                         security: security, spoolDirectory: spoolDirectory, log: logLine)
            }
            self.rank = rank
            try source!.record(step: 0, .worker(host: ProcessInfo.processInfo.hostName, pid: getpid(), rank: rank))
        } catch {
            report(error)
        }
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

    /// The coordinator's announcement of a generation.
    func recordGeneration(_ number: Int64, resumedFrom: Int, settings: String) {
        send(step: resumedFrom, .generation(number: number, resumedFrom: Int64(resumedFrom), settings: settings))
    }

    private func send(step: Int, _ payload: WireEvent.Payload) {
        guard let source else { return }
        do {
            try source.record(step: Int64(step), payload)
        } catch {
            report(error)
        }
    }

    /// Sends what is recorded now (and so writes it to the spool file), as at a checkpoint.
    func flush() {
        guard let source else { return }
        do { try source.send() } catch { report(error) }
    }

    private func report(_ error: any Error) {
        if !failed { logLine("\(source?.source ?? "events"): cannot send events to the aggregator: \(error)") }
        failed = true
    }

    /// Waits (up to `timeout` seconds) until the aggregator has stored everything; what is
    /// left goes to the spool folder.
    func finish(timeout: Double = 30) {
        guard let source else { return }
        do {
            _ = try source.drain(timeout: timeout)
        } catch {
            logLine("\(source.source): events not delivered: \(error)")
        }
    }
}
