// The shape every health detector has: it sees the run as it arrives (each source's raw
// scalars, each completed step across workers, each quality evaluation, each sample grid) and
// says whether its condition holds.

import Foundation

/// What a detector concludes from one observation.
enum HealthFinding: Equatable {
    /// The condition holds; it began at `began`. `message` says what was seen and what to try.
    case present(began: Int64, message: String)
    /// The condition does not hold (any alarm of this detector clears).
    case absent
    /// Nothing to conclude from this observation; the previous conclusion stands.
    case unknown
}

/// One step of training as every worker reported it, once every live worker has.
struct TrainingStep {
    /// The step.
    let step: Int64
    /// Each worker's values of the step, by tag (`g_loss`, `acc_real`, …).
    let workers: [String: [String: Double]]

    /// The mean of `tag` over the workers that reported it (NaN if one of them is NaN), or nil
    /// if none did.
    func mean(_ tag: String) -> Double? {
        var sum = 0.0, count = 0
        for values in workers.values {
            if let value = values[tag] { sum += value; count += 1 }
        }
        return count == 0 ? nil : sum / Double(count)
    }
}

/// One quality evaluation (the `quality/*` tags of one event), by tag without the prefix.
struct QualityReading {
    /// The step the samples were drawn at.
    let step: Int64
    /// `fid`, `precision`, `recall`, `class_entropy`, `missing_classes`, ….
    let values: [String: Double]
}

/// A detector of one alarm. Each method has a default that concludes nothing, so a detector
/// implements only the observations it looks at. Every method is cheap and deterministic: the
/// same observations in the same order give the same findings.
protocol HealthDetector {
    /// The alarm's name, stored in run.db and shown on the report.
    var name: String { get }
    /// One source's scalar event, as it is stored (before the step is complete across workers).
    mutating func observe(source: String, step: Int64, values: [String: Double]) -> HealthFinding
    /// A step every live worker has reported.
    mutating func observe(_ step: TrainingStep) -> HealthFinding
    /// A quality evaluation.
    mutating func observe(_ reading: QualityReading) -> HealthFinding
    /// The near-duplicate share of a sample grid of G on fixed noise.
    mutating func observe(samples: SampleGridDuplicates, step: Int64) -> HealthFinding
}

extension HealthDetector {
    mutating func observe(source: String, step: Int64, values: [String: Double]) -> HealthFinding { .unknown }
    mutating func observe(_ step: TrainingStep) -> HealthFinding { .unknown }
    mutating func observe(_ reading: QualityReading) -> HealthFinding { .unknown }
    mutating func observe(samples: SampleGridDuplicates, step: Int64) -> HealthFinding { .unknown }
}

/// The mean of the last `capacity` values of a series, kept in O(1) per value. Non-finite
/// values are counted apart: the mean is nil while one is in the window, so a NaN never
/// poisons the running sum, and the sum is recomputed once per `capacity` values so that
/// rounding does not build up over millions of steps.
struct SlidingMean {
    let capacity: Int
    private var values: [Double] = []
    private var next = 0
    private var sum = 0.0
    private var nonFinite = 0
    private var pushes = 0
    /// The step of each value, in the same slots.
    private var steps: [Int64] = []

    init(capacity: Int) {
        precondition(capacity > 0, "SlidingMean: capacity must be positive, got \(capacity)")
        self.capacity = capacity
    }

    /// Adds the value of `step`, dropping the oldest once full.
    mutating func add(_ value: Double, step: Int64) {
        if values.count < capacity {
            values.append(value)
            steps.append(step)
        } else {
            let old = values[next]
            if old.isFinite { sum -= old } else { nonFinite -= 1 }
            values[next] = value
            steps[next] = step
            next = (next + 1) % capacity
        }
        if value.isFinite { sum += value } else { nonFinite += 1 }
        pushes += 1
        if pushes % capacity == 0 { sum = values.filter(\.isFinite).reduce(0, +) }
    }

    /// Whether the window holds `capacity` values.
    var isFull: Bool { values.count == capacity }
    /// The mean of the window, or nil while it is not full or holds a non-finite value.
    var mean: Double? { isFull && nonFinite == 0 ? sum / Double(capacity) : nil }
    /// The step of the oldest value in the window that satisfies `predicate`: where a condition
    /// that the window's mean now meets began to show in single steps.
    func firstStep(where predicate: (Double) -> Bool) -> Int64? {
        let start = values.count < capacity ? 0 : next
        for offset in 0..<values.count where predicate(values[(start + offset) % values.count]) {
            return steps[(start + offset) % values.count]
        }
        return nil
    }

    /// Empties the window.
    mutating func reset() { self = SlidingMean(capacity: capacity) }
}

/// A number as alarm messages print it: four significant digits.
func formatted(_ value: Double) -> String {
    String(format: "%.4g", value)
}
