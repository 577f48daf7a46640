// What an aggregator started by hand or by a cluster engine says while it runs: each source as
// it connects, goes quiet and comes back, and the events it stored in each interval.
import Foundation

/// Follows the batches an aggregator stores and prints a line when a source connects, leaves
/// (sends nothing for three intervals) or starts again, and every interval in which events
/// were stored.
final class SourceWatch: @unchecked Sendable {
    private struct Source {
        var incarnation: Int64
        var lastSeen: Date
        var gone = false
    }

    private let interval: Double
    private let lock = NSLock()
    private var sources: [String: Source] = [:]
    private var storedInInterval = 0, storedInAll = 0
    private var activeInInterval: Set<String> = []
    private var timer: DispatchSourceTimer?

    /// Starts the lines every `interval` seconds.
    init(every interval: Double) {
        self.interval = interval
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
        self.timer = timer
    }

    /// A batch of `source` is stored (`AggregatorConfiguration.onStored`).
    func stored(source: String, incarnation: Int64, newEvents: Int) {
        let line: String? = lock.withLock {
            storedInInterval += newEvents
            storedInAll += newEvents
            activeInInterval.insert(source)
            guard var known = sources[source] else {
                sources[source] = Source(incarnation: incarnation, lastSeen: Date())
                return "aggregator: source \(source) connected"
            }
            defer { sources[source] = known }
            known.lastSeen = Date()
            // A restarted source first resends what its earlier start left unacknowledged.
            if incarnation > known.incarnation {
                known.incarnation = incarnation
                known.gone = false
                return "aggregator: source \(source) started again (a new process)"
            }
            guard known.gone else { return nil }
            known.gone = false
            return "aggregator: source \(source) is back"
        }
        if let line { logLine(line) }
    }

    /// Stops the lines.
    func stop() {
        timer?.cancel()
    }

    private func tick() {
        let now = Date()
        let lines: [String] = lock.withLock {
            var lines: [String] = []
            for (name, source) in sources.sorted(by: { $0.key < $1.key })
            where !source.gone && now.timeIntervalSince(source.lastSeen) >= 3 * interval {
                sources[name]?.gone = true
                lines.append(String(format: "aggregator: source %@ left (no events for %.0f s)", name, now.timeIntervalSince(source.lastSeen)))
            }
            if storedInInterval > 0 {
                lines.append(String(format: "aggregator: %d event(s) stored in the last %g s from %d source(s); %d in all; %d source(s) connected",
                                    storedInInterval, interval, activeInInterval.count, storedInAll, sources.values.filter { !$0.gone }.count))
            }
            storedInInterval = 0
            activeInInterval = []
            return lines
        }
        lines.forEach(logLine)
    }
}
