// A worker's events: sent to the aggregator its own --aggregator names, else to the one the
// coordinator's welcome names, from the moment it joins (it learns its rank then).
import AgonTraining
import AgonWire
import AgonWorker

/// The worker's `MetricsReporter`, made when the worker first joins; used from its thread only.
final class WorkerEvents: @unchecked Sendable {
    private let aggregator: String?
    private let spoolDirectory: String?
    private let security: WireSocket.Security
    private let name: String?
    private var reporter: MetricsReporter?
    private var decided = false

    init(aggregator: String?, spoolDirectory: String?, security: WireSocket.Security, name: String?) {
        self.aggregator = aggregator
        self.spoolDirectory = spoolDirectory
        self.security = security
        self.name = name
    }

    /// The worker has joined: picks the aggregator (once) and names the source. Named by its
    /// first rank, a restarted worker that takes the same rank continues its series (and sends
    /// what its previous start left in the spool folder first).
    func joined(_ place: WorkerPlace) {
        if !decided {
            decided = true
            let endpoint = aggregator ?? (place.aggregator.isEmpty ? nil : place.aggregator)
            guard let endpoint else {
                logLine("worker: no aggregator: the coordinator names none and --aggregator is not given; this worker's metrics are not recorded")
                return
            }
            do {
                reporter = try MetricsReporter(endpoint: endpoint, spoolDirectory: spoolDirectory, security: security)
                if aggregator == nil { logLine("worker: sending events to \(endpoint), the aggregator the coordinator named") }
            } catch {
                logLine("worker: cannot send events to \(endpoint): \(error); this worker's metrics are not recorded")
            }
        }
        begin(place)
    }

    /// One step's metrics, trained as `place`.
    func record(_ metrics: StepMetrics, _ place: WorkerPlace) {
        begin(place)
        reporter?.record(metrics)
    }

    /// Names the source once (`--name`, else `worker-RANK`) and records `place`'s generation
    /// and rank when they change.
    private func begin(_ place: WorkerPlace) {
        guard let reporter else { return }
        reporter.begin(source: reporter.name ?? name ?? "worker-\(place.rank)", generation: place.generation, rank: Int32(place.rank))
    }

    /// Waits up to `timeout` seconds for the aggregator to store what is sent.
    func finish(timeout: Double) { reporter?.finish(timeout: timeout) }
}
