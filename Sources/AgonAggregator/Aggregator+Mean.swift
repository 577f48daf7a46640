// TensorBoard's `aggregate/` run: the cross-worker mean of every tag at every step, appended
// as steps complete, which TensorBoard cannot compute from one folder per worker.
import AgonRunStore
import Foundation

extension Aggregator {
    /// Appends the mean over sources of each tag for the steps every live source has passed
    /// (all steps when `final`); the last step written is kept in run.db's meta table.
    /// The meta key of the last step whose means are in `tensorboard/aggregate/`.
    static let aggregateMeansKey = "tensorboard_aggregate_through"

    func writeAggregateMeans(final: Bool) throws {
        let key = Self.aggregateMeansKey
        let done = Int64(try store.meta(key) ?? "") ?? 0
        var latest: [String: (step: Int64, wallTime: Double)] = [:]
        var sums: [String: [Int64: (sum: Double, count: Int, wallTime: Double)]] = [:]
        let tags = try store.tags()
        for tag in tags {
            for worker in try store.workers() {
                let series = try store.scalars(tag: tag, worker: worker)
                guard let last = series.steps.last else { continue }
                if (latest[worker]?.step ?? .min) < last { latest[worker] = (last, series.wallTimes.last!) }
                for i in series.steps.indices where series.steps[i] > done {
                    var entry = sums[tag, default: [:]][series.steps[i]] ?? (0, 0, 0)
                    entry.sum += series.values[i]
                    entry.count += 1
                    entry.wallTime = max(entry.wallTime, series.wallTimes[i])
                    sums[tag, default: [:]][series.steps[i]] = entry
                }
            }
        }
        guard let newest = latest.values.map(\.wallTime).max() else { return }
        // A source silent for a minute (a dead worker) no longer holds the mean back.
        let live = latest.values.filter { newest - $0.wallTime < 60 }.map(\.step)
        let through = final ? (latest.values.map(\.step).max() ?? done) : (live.min() ?? done)
        guard through > done else { return }
        let writer = try aggregateWriter()
        for tag in tags {
            for (step, entry) in (sums[tag] ?? [:]).filter({ $0.key <= through }).sorted(by: { $0.key < $1.key }) {
                try writer.addScalars(step: step, wallTime: entry.wallTime, [(tag: tag, value: Float(entry.sum / Double(entry.count)))])
            }
        }
        try writer.flush()
        try store.setMeta(key, String(through))
    }
}
