// The report's "Run" section: the run's settings, each start of its training (generation) with
// the step it resumed after, Agon's version, the host and what changed, and each start of each
// event source with its host, process and when it was first and last heard.
import AgonRunStore
import Foundation

extension Report {
    /// The section's HTML, from the `generations` and `incarnations` tables.
    func runSection() throws -> String {
        let generations = try store.generations()
        let incarnations = try store.incarnations().filter { $0.worker != HealthMonitor.source }
        var html = ""
        if let latest = generations.last, let object = Self.jsonObject(latest.settings) {
            let settings = (object["settings"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }
                .map { "<code>\(escape($0.key))</code> \(escape(Self.text($0.value)))" }.joined(separator: ", ")
            let workers = object["workers"].map { "; \(escape(Self.text($0))) worker(s)" } ?? ""
            html += "<p>Settings: \(settings)\(workers).</p>\n"
            let rows = generations.map { g -> String in
                let record = Self.jsonObject(g.settings)?["generation"] as? [String: Any] ?? [:]
                let changes = (record["changes"] as? [String]) ?? []
                return "<tr><td>\(g.generation)</td><td>\(g.resumedFrom == 0 ? "the beginning" : "step \(g.resumedFrom)")</td>"
                    + "<td>\(Self.time(g.wallTime))</td><td>\(escape(Self.text(record["host"] ?? "")))</td>"
                    + "<td>\(escape(Self.text(record["version"] ?? "")))</td>"
                    + "<td>\(changes.isEmpty ? "" : escape(changes.joined(separator: "; ")))</td></tr>"
            }
            html += """
                <table><tr><th>generation</th><th>resumed after</th><th>started</th><th>host</th><th>agon</th><th>changed</th></tr>
                \(rows.joined(separator: "\n"))</table>
                <p class=w>What a generation stored past the step the next one resumed after is kept in run.db and left out of this page.</p>

                """
        } else {
            html += "<p>No run settings recorded (a run of an earlier Agon, or only outside sources).</p>\n"
        }
        guard !incarnations.isEmpty else { return html }
        let rows = incarnations.map { i in
            "<tr><td>\(escape(i.worker))</td><td>\(i.incarnation)</td><td>\(i.generation)</td>"
                + "<td>\(escape(i.host ?? ""))</td><td>\(i.pid.map(String.init) ?? "")</td>"
                + "<td>\(Self.time(i.firstSeen))</td><td>\(Self.time(i.lastSeen))</td></tr>"
        }
        return html + """
            <table><tr><th>source</th><th>incarnation</th><th>generation</th><th>host</th><th>pid</th><th>first event</th><th>last event</th></tr>
            \(rows.joined(separator: "\n"))</table>
            """
    }

    private static func jsonObject(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    private static func text(_ value: Any) -> String {
        if let array = value as? [Any] { return array.map { text($0) }.joined(separator: ",") }
        return "\(value)"
    }

    private static func time(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "" }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
