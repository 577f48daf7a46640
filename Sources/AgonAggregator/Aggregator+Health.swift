// The aggregator's side of the health alarms: every stored event goes through the monitor,
// and each alarm it raises is appended to run.db as an event of source "aggregator", logged,
// and shown on the report.
import AgonRunStore
import Foundation

extension Aggregator {
    /// Shows the monitor the events of `source` just stored, and acts on what it says.
    func watchHealth(source: String, _ events: [RunEvent]) {
        for event in events {
            handle(health.observe(source: source, step: event.step, payload: event.payload))
        }
    }

    /// Stores, logs and queues for the report each raised alarm; logs each cleared one.
    func handle(_ changes: [HealthChange]) {
        for change in changes {
            switch change {
            case .raised(let alarm):
                log("aggregator: alarm \(alarm.name), began at step \(alarm.step): \(alarm.message)")
                unstoredAlarms.append(alarm)
            case .cleared(let name, let step):
                log("aggregator: alarm \(name) cleared at step \(step)")
            }
        }
        storeAlarms()
    }

    /// Appends the raised alarms not stored yet, numbered after the source's stored events; a
    /// failed write keeps them for the next poll.
    func storeAlarms() {
        guard !unstoredAlarms.isEmpty else { return }
        do {
            var next = try store.nextSequence(worker: HealthMonitor.source)
            let now = Date().timeIntervalSince1970
            let events = unstoredAlarms.map { alarm -> RunEvent in
                defer { next += 1 }
                return RunEvent(worker: HealthMonitor.source, seq: next, step: alarm.step, wallTime: now,
                                payload: .alarm(name: alarm.name, message: alarm.message))
            }
            try store.append(events)
            unstoredAlarms.removeAll()
            lastAlarmWriteError = nil
            dirty = true
        } catch {
            let text = "\(error)"
            if text != lastAlarmWriteError { log("aggregator: cannot store alarms yet, keeping them to try again: \(text)") }
            lastAlarmWriteError = text
        }
    }
}
