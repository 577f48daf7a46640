// A run's events as TensorBoard files written afresh from run.db: one folder per source with
// its scalars and images, and `aggregate/` with the cross-worker mean of each tag at each step.
import AgonRunStore
import Foundation

/// Writes TensorBoard event files from a run store.
public struct TensorBoardExport {
    let store: RunStore

    public init(store: RunStore) { self.store = store }

    /// Writes everything under `folder`; returns the number of events written.
    public func write(to folder: String) throws -> Int {
        let host = ProcessInfo.processInfo.hostName, now = Date().timeIntervalSince1970
        var count = 0
        var sums: [String: [Int64: (sum: Double, n: Int, wallTime: Double)]] = [:]
        for worker in try store.workers() {
            let writer = try EventFileWriter(directory: folder + "/" + Aggregator.folderName(worker), wallTime: now, host: host, pid: getpid())
            defer { writer.close() }
            for tag in try store.tags() {
                let series = try store.scalars(tag: tag, worker: worker)
                for i in series.steps.indices {
                    try writer.addScalars(step: series.steps[i], wallTime: series.wallTimes[i], [(tag: tag, value: Float(series.values[i]))])
                    var entry = sums[tag, default: [:]][series.steps[i]] ?? (0, 0, series.wallTimes[i])
                    entry.sum += series.values[i]
                    entry.n += 1
                    entry.wallTime = max(entry.wallTime, series.wallTimes[i])
                    sums[tag, default: [:]][series.steps[i]] = entry
                    count += 1
                }
            }
            for image in try store.images(tag: nil) where image.worker == worker {
                try writer.addImage(step: image.step, wallTime: now, tag: "samples", width: image.width, height: image.height,
                                    colorspace: 3, png: image.png)
                count += 1
            }
            try writer.flush()
        }
        let aggregate = try EventFileWriter(directory: folder + "/aggregate", wallTime: now, host: host, pid: getpid())
        defer { aggregate.close() }
        for (tag, steps) in sums.sorted(by: { $0.key < $1.key }) {
            for (step, entry) in steps.sorted(by: { $0.key < $1.key }) {
                try aggregate.addScalars(step: step, wallTime: entry.wallTime, [(tag: tag, value: Float(entry.sum / Double(entry.n)))])
                count += 1
            }
        }
        try aggregate.flush()
        return count
    }
}
