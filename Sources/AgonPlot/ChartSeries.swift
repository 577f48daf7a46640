// One metric as every worker logged it: the input of a line chart, plain arrays of numbers.

/// A metric's curve from each worker, drawn as one colour: faint per-worker lines, their mean
/// and their min–max band.
public struct ChartSeries: Sendable {
    /// One worker's points: its name, and its steps with the value at each.
    public typealias Worker = (worker: String, steps: [Double], values: [Double])

    /// The name in the legend, e.g. "G loss".
    public var name: String
    /// Which chart the series belongs on, e.g. "loss" for both "G loss" and "D loss".
    public var group: String
    /// Each worker's points, in the order they were logged (sorted by step for drawing).
    public var workers: [Worker]

    /// A series named `name` in `group` (by default its own name), from each worker's points.
    ///
    /// - Precondition: each worker has as many steps as values.
    public init(name: String, group: String? = nil, workers: [Worker]) {
        for worker in workers {
            precondition(worker.steps.count == worker.values.count,
                         "series \(name), worker \(worker.worker): \(worker.steps.count) steps for \(worker.values.count) values")
        }
        self.name = name
        self.group = group ?? name
        self.workers = workers
    }

    /// How many points the series holds over all workers.
    public var pointCount: Int { workers.reduce(0) { $0 + $1.values.count } }

    /// `series` split by group, groups in order of first appearance and series in their order.
    ///
    /// One `LineChart` per group draws every metric of a run, related metrics together.
    public static func grouped(_ series: [ChartSeries]) -> [(group: String, series: [ChartSeries])] {
        var groups: [(group: String, series: [ChartSeries])] = []
        var index: [String: Int] = [:]
        for item in series {
            if let at = index[item.group] {
                groups[at].series.append(item)
            } else {
                index[item.group] = groups.count
                groups.append((item.group, [item]))
            }
        }
        return groups
    }
}
