// Per-step metrics arrive worker by worker, in batches; detectors of the run as a whole want
// each step once, with every worker's values. This holds steps until every live worker has
// passed them.

/// Gathers each worker's values of a step and hands the step on once every live worker has
/// reported a later or equal step.
///
/// A worker counts as live while it is at most ``lagLimit`` steps behind the most advanced
/// one: a worker that died, or was dropped by the coordinator, stops holding steps back once
/// the others are that far ahead. Values of a step already handed on (a straggler's) are
/// dropped, so a step is seen once. The order of hand-over is by step.
struct StepMerger {
    /// How far behind the leading worker a worker may be and still hold a step back. Workers
    /// train in lockstep (the coordinator averages every step), so they differ only by how
    /// their event batches interleave in arrival, which is at most a few hundred steps (a
    /// source sends what it has every 100 ms or so); 2,000 steps leaves room for a slow link
    /// without holding a step more than a few thousand values long.
    static let lagLimit: Int64 = 2_000

    private var latest: [String: Int64] = [:]
    private var pending: [Int64: [String: [String: Double]]] = [:]
    /// Every step up to this one has been handed on. Steps count from 0 (a negative one is
    /// never handed on).
    private var done: Int64 = -1

    /// Adds `worker`'s values of `step`; returns the steps now complete, in order.
    mutating func add(worker: String, step: Int64, values: [String: Double]) -> [TrainingStep] {
        latest[worker] = max(latest[worker] ?? step, step)
        if step > done { pending[step, default: [:]][worker] = values }
        return complete()
    }

    /// Hands on every pending step, complete or not: at the end of a run.
    mutating func flush() -> [TrainingStep] {
        let steps = pending.keys.sorted().map { TrainingStep(step: $0, workers: pending[$0]!) }
        pending.removeAll()
        if let last = steps.last { done = max(done, last.step) }
        return steps
    }

    private mutating func complete() -> [TrainingStep] {
        guard let leader = latest.values.max() else { return [] }
        // The slowest live worker's latest step: everything at or below it is complete.
        // Differences of steps saturate: live intake refuses steps outside 0..<2^53, but a
        // run.db an older build wrote may hold any Int64, and must not trap the rebuild.
        let through = latest.values.filter { Self.distance(leader, $0) <= Self.lagLimit }.min() ?? leader
        guard through > done, !pending.isEmpty else { return [] }
        // Steps are mostly consecutive: walk the range when it is short, else sort what is held.
        let ready = Self.distance(through, done) <= Int64(pending.count)
            ? (done + 1...through).filter { pending[$0] != nil }
            : pending.keys.filter { $0 <= through }.sorted()
        done = through
        return ready.map { TrainingStep(step: $0, workers: pending.removeValue(forKey: $0)!) }
    }

    /// `later - earlier` for `later ≥ earlier`, or Int64.max where that overflows.
    private static func distance(_ later: Int64, _ earlier: Int64) -> Int64 {
        let (difference, overflow) = later.subtractingReportingOverflow(earlier)
        return overflow ? .max : difference
    }
}
