// One worker's losses drift away from the others': a worker with bad data, a broken replica,
// or one training on stale parameters. Workers share parameters every step, so their losses
// differ only by their batches, and their smoothed losses should agree closely.

/// Raised when, for ``window`` completed steps in a row, some worker's smoothed `g_loss` or
/// `d_loss` lies further from the median over workers than ``absolute`` and ``relative`` of
/// that median (whichever is larger); it began at the first of those steps. It clears once
/// every worker is back within half that distance.
///
/// Each worker's loss is smoothed by an exponential moving average with weight ``weight`` on
/// the new value (a memory of about 50 steps), counted only after ``warmup`` values. With one
/// outlier among three or more workers the median is a healthy worker's, so the outlier alone
/// is named; two workers have no majority, so both are named.
///
/// Why these values: two healthy workers (batch 16 and 32, 3,000 and 6,000 steps, measured)
/// differ by 0.05 to 0.1 on average in a step's loss, and their smoothed losses by at most
/// 0.06 after the warm-up, so each lies at most 0.03 from their median; a distance of 0.5 (or
/// half the loss, for losses above 1) is more than ten times that, and 50 steps in a row rule
/// out a burst of odd batches. The moving average lags a jump: for a worker whose loss jumps
/// by five times the distance, the alarm begins about 10 steps after the jump.
struct WorkerDivergence: HealthDetector {
    let name = "worker_divergence"
    /// The tags compared.
    static let tags = ["g_loss", "d_loss"]
    /// The moving average's weight on the newest value.
    static let weight = 0.02
    /// Values a worker must have before its average is compared.
    static let warmup = 100
    /// Completed steps in a row the distance must hold.
    static let window = 50
    /// The least distance from the median that counts.
    static let absolute = 0.5
    /// The least distance as a share of the median's magnitude.
    static let relative = 0.5

    private var averages: [String: [String: (value: Double, count: Int)]] = [:]
    private var since: Int64?

    mutating func observe(_ step: TrainingStep) -> HealthFinding {
        for (worker, values) in step.workers {
            for tag in Self.tags {
                guard let value = values[tag], value.isFinite else { continue }
                let old = averages[worker, default: [:]][tag]
                averages[worker, default: [:]][tag] = old.map { ($0.value + Self.weight * (value - $0.value), $0.count + 1) } ?? (value, 1)
            }
        }
        var worst: (share: Double, text: String)?
        var calm = true
        var compared = false
        for tag in Self.tags {
            let settled = step.workers.keys.sorted().compactMap { worker in
                averages[worker]?[tag].flatMap { $0.count >= Self.warmup ? (worker, $0.value) : nil }
            }
            guard settled.count >= 2 else { continue }
            compared = true
            let sorted = settled.map(\.1).sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            let limit = max(Self.absolute, Self.relative * abs(median))
            for (worker, value) in settled {
                let distance = abs(value - median)
                if distance > limit / 2 { calm = false }
                guard distance > limit, distance / limit > (worst?.share ?? 0) else { continue }
                let who = settled.count == 2
                    ? "\(settled[0].0) and \(settled[1].0) disagree: their smoothed \(tag) is \(formatted(settled[0].1)) and \(formatted(settled[1].1))"
                    : "\(worker)'s smoothed \(tag) is \(formatted(value)), the median of \(settled.count) workers \(formatted(median))"
                worst = (distance / limit, who)
            }
        }
        guard compared else { return .unknown }
        guard let worst else {
            since = nil
            return calm ? .absent : .unknown
        }
        let first = since ?? step.step
        since = first
        guard step.step - first + 1 >= Int64(Self.window) else { return .unknown }
        return .present(began: first, message: """
            from step \(first) to \(step.step), \(worst.text) (alarm beyond \(formatted(Self.absolute)) or \
            \(percent(Self.relative)) of the median for \(Self.window) steps). Workers share parameters, so this is a \
            worker's data or replica going wrong: check that worker's data shard and log, and restart it.
            """)
    }
}
