// The order in which data-parallel training visits the data set: one global order per epoch,
// fixed by the seed alone, that the workers split between them, so the run does not depend on N.
import AgonTensor
import Synchronization

/// Which samples each worker trains on at each step.
///
/// Epoch `e` visits the data set in the order
/// `CounterRandom(seed: seed).permutation(datasetCount, stream: .shuffle, e)`. Step `s`
/// (counted from 0 across epochs) belongs to epoch `s / stepsPerEpoch` and takes the
/// `globalBatch` positions starting at `(s % stepsPerEpoch) * globalBatch` of that order; worker
/// `rank` takes positions `[rank * batchPerWorker, (rank + 1) * batchPerWorker)` of those. The
/// `datasetCount % globalBatch` samples left at the end of each epoch's order are skipped.
///
/// So N workers with batch B see, together and in rank order, exactly the samples one worker
/// with batch N·B sees at the same step.
///
/// The permutation of the most recent epoch asked for is cached and shared by all copies of a
/// schedule, behind a lock, so asking for the steps of one epoch in turn shuffles only once.
public struct BatchSchedule: Sendable {
    /// The number of samples in the data set.
    public let datasetCount: Int
    /// The number of samples each worker takes per step.
    public let batchPerWorker: Int
    /// The number of workers that share each step.
    public let workers: Int
    /// The seed of the shuffle.
    public let seed: UInt64
    /// The samples per step over all workers: `batchPerWorker * workers`.
    public let globalBatch: Int
    /// The whole steps in one epoch: `datasetCount / globalBatch`, the remainder dropped.
    public let stepsPerEpoch: Int

    private let cache = PermutationCache()

    /// Makes the schedule of `workers` workers taking `batchPerWorker` samples each per step.
    ///
    /// - Precondition: `batchPerWorker ≥ 1`, `workers ≥ 1` and `datasetCount ≥ batchPerWorker * workers`.
    public init(datasetCount: Int, batchPerWorker: Int, workers: Int, seed: UInt64) {
        precondition(batchPerWorker >= 1 && workers >= 1,
                     "BatchSchedule: batchPerWorker \(batchPerWorker) and workers \(workers) must both be at least 1")
        let globalBatch = batchPerWorker * workers
        precondition(datasetCount >= globalBatch,
                     "BatchSchedule: \(datasetCount) samples are fewer than one global batch of \(globalBatch) (\(workers) workers × \(batchPerWorker))")
        self.datasetCount = datasetCount
        self.batchPerWorker = batchPerWorker
        self.workers = workers
        self.seed = seed
        self.globalBatch = globalBatch
        self.stepsPerEpoch = datasetCount / globalBatch
    }

    /// The epoch that step `step` belongs to.
    public func epoch(ofStep step: Int) -> Int {
        precondition(step >= 0, "BatchSchedule.epoch(ofStep:): step \(step) is negative")
        return step / stepsPerEpoch
    }

    /// The order in which epoch `epoch` visits the data set: a permutation of `0..<datasetCount`.
    public func order(epoch: Int) -> [Int] {
        precondition(epoch >= 0 && epoch <= Int(UInt32.max), "BatchSchedule.order(epoch:): epoch \(epoch) not in 0...\(UInt32.max)")
        return cache.order(epoch: epoch) {
            CounterRandom(seed: seed).permutation(datasetCount, stream: .shuffle, UInt32(epoch))
        }
    }

    /// The `globalBatch` sample indices of step `step`, over all workers, in rank order.
    public func globalIndices(step: Int) -> ArraySlice<Int> {
        let start = (step % stepsPerEpoch) * globalBatch
        return order(epoch: epoch(ofStep: step))[start..<start + globalBatch]
    }

    /// The indices worker `rank` trains on at step `stepInEpoch` of epoch `epoch`: for a
    /// coordinator that starts epochs itself, as when workers leave or join.
    public func indices(epoch: Int, stepInEpoch: Int, rank: Int) -> ArraySlice<Int> {
        precondition(rank >= 0 && rank < workers, "BatchSchedule.indices: rank \(rank) not in 0..<\(workers)")
        precondition(stepInEpoch >= 0 && stepInEpoch < stepsPerEpoch,
                     "BatchSchedule.indices: step \(stepInEpoch) not in 0..<\(stepsPerEpoch) of the epoch")
        let start = stepInEpoch * globalBatch + rank * batchPerWorker
        return order(epoch: epoch)[start..<start + batchPerWorker]
    }

    /// The `batchPerWorker` sample indices that worker `rank` trains on at step `step`.
    ///
    /// - Precondition: `step ≥ 0` and `0 ≤ rank < workers`.
    public func indices(step: Int, rank: Int) -> ArraySlice<Int> {
        precondition(rank >= 0 && rank < workers, "BatchSchedule.indices: rank \(rank) not in 0..<\(workers)")
        let global = globalIndices(step: step)
        let start = global.startIndex + rank * batchPerWorker
        return global[start..<start + batchPerWorker]
    }
}

/// The last epoch's permutation, shared by copies of a schedule; a lock makes it safe to share
/// between threads (the arrays themselves are immutable values).
private final class PermutationCache: Sendable {
    private let entry = Mutex<(epoch: Int, order: [Int])?>(nil)

    /// The cached order of `epoch`, or `make()`'s, which then replaces the cached one.
    func order(epoch: Int, make: () -> [Int]) -> [Int] {
        if let cached = entry.withLock({ $0 }), cached.epoch == epoch { return cached.order }
        let order = make()  // outside the lock: a slow shuffle must not block other readers
        entry.withLock { $0 = (epoch, order) }
        return order
    }
}
