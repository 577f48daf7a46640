// A resumed run in the TensorBoard files: when a generation is announced that resumed after step
// S, every source's folder (and the cross-worker mean's) gets a SessionLog START at step S+1, so
// TensorBoard's reader drops what earlier generations wrote past S, as it does for a restarted
// TensorFlow job; events an earlier generation sends later than that are left out of the files,
// and a generation's events wait until its announcement says where it resumed.
import AgonRunStore
import AgonWire
import Foundation

/// Stored events of one incarnation, on their way to its source's TensorBoard folder.
struct TensorBoardBatch {
    var source: SourceIncarnation
    var generation: Int64
    var events: [WireEvent]
}

extension Aggregator {
    /// The meta key of the newest generation whose STARTs are in the TensorBoard files.
    static let restartsKey = "tensorboard_restarts_through"

    /// Records a generation just stored, writes its STARTs, and lets its held-back events go.
    func announce(_ generation: Int64, resumedFrom: Int64) {
        guard resumes[generation] == nil else { return }
        resumes[generation] = resumedFrom
        do {
            try writeRestarts()
        } catch {
            log("aggregator: TensorBoard restart of generation \(generation): \(error)")
        }
        let ready = tensorBoardWaiting.filter { resumes[$0.generation] != nil }
        tensorBoardWaiting.removeAll { resumes[$0.generation] != nil }
        ready.forEach(queueForTensorBoard)
    }

    /// Writes a START at `resumedFrom + 1` for every announced generation after the last one
    /// written, into every source folder there is and the `aggregate/` folder, whose means are
    /// then computed again from there.
    func writeRestarts() throws {
        let done = Int64(try store.meta(Self.restartsKey) ?? "") ?? 1
        let pending = resumes.filter { $0.key > done }.sorted { $0.key < $1.key }
        guard !pending.isEmpty else { return }
        flushTensorBoard()   // what arrived before the announcement goes in before its START
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: configuration.runDirectory + "/tensorboard")) ?? [])
            .filter { $0 != "aggregate" }
        let sources = Set(try store.workers().filter { $0 != HealthMonitor.source && folders.contains(Self.folderName($0)) })
        let now = Date().timeIntervalSince1970
        for (generation, resumedFrom) in pending {
            let start = EventProtobuf.Event(wallTime: now, step: resumedFrom + 1, content: .sessionStart)
            for source in sources.sorted() {
                let writer = try writer(of: source)
                try writer.add(start)
                try writer.flush()
            }
            if let means = Int64(try store.meta(Self.aggregateMeansKey) ?? ""), means > resumedFrom {
                let writer = try aggregateWriter()
                try writer.add(start)
                try writer.flush()
                try store.setMeta(Self.aggregateMeansKey, String(resumedFrom))
            }
            try store.setMeta(Self.restartsKey, String(generation))
        }
    }

    /// The events of `batch` on the current timeline as known now: an earlier generation's
    /// values past the step a later one resumed after are not written.
    func current(_ batch: TensorBoardBatch) -> [WireEvent] {
        guard batch.generation > 0, let cutoff = resumes.filter({ $0.key > batch.generation }).map(\.value).min() else {
            return batch.events
        }
        return batch.events.filter { $0.step <= cutoff }
    }
}
