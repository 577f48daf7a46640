// The report's "Health" section: every alarm the aggregator raised, most recent first, with
// the step where it began and what it says.
import AgonRunStore

extension Report {
    /// The section's HTML: a table of alarms, or a line saying which detectors watched and
    /// found nothing.
    func alarmsSection() throws -> String {
        let alarms = try store.alarms().sorted { ($0.step, $0.wallTime, $0.seq) > ($1.step, $1.wallTime, $1.seq) }
        guard !alarms.isEmpty else {
            return "<p class=ok>No alarms. Watched: \(HealthMonitor().alarmNames.map { "<code>\($0)</code>" }.joined(separator: ", ")).</p>"
        }
        let rows = alarms.map { alarm in
            "<tr><td><code>\(escape(alarm.name))</code></td><td>\(alarm.step)</td><td>\(escape(alarm.message))</td>"
                + (alarm.worker == HealthMonitor.source ? "" : "<td class=w>from \(escape(alarm.worker))</td>") + "</tr>"
        }
        return """
            <table class=alarms><tr><th>alarm</th><th>began at step</th><th>what was seen, and what to try</th></tr>
            \(rows.joined(separator: "\n"))</table>
            """
    }
}
