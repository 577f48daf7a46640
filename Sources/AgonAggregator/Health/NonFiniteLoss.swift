// A loss or gradient norm that is NaN or infinite: the run has diverged. The coordinator stops
// at a non-finite average with its last good checkpoint kept; this says so where users look.

/// Raised at the first step any source reports a non-finite loss or gradient norm, from that
/// source's own event (before the step is complete across workers: it is the one alarm that
/// must not wait). It clears at a later completed step where every worker's values are finite
/// (a run restarted from a checkpoint).
///
/// No threshold: NaN or ±∞ is never a value training can go on from.
struct NonFiniteLoss: HealthDetector {
    let name = "non_finite_loss"
    /// The tags looked at: both losses, D's two parts, both gradient norms.
    static let tags = ["g_loss", "d_loss", "d_real_loss", "d_fake_loss", "g_grad_norm", "d_grad_norm"]

    private var began: Int64?

    mutating func observe(source: String, step: Int64, values: [String: Double]) -> HealthFinding {
        let bad = Self.tags.compactMap { tag in values[tag].flatMap { $0.isFinite ? nil : "\(tag) = \($0)" } }
        guard !bad.isEmpty else { return .unknown }
        if began == nil { began = step }
        return .present(began: began!, message: """
            \(source) reported \(bad.joined(separator: ", ")) at step \(step): training has diverged. The coordinator stops at \
            a non-finite average and keeps its last good checkpoint (checkpoints/latest.json). Try a lower learning rate \
            (--lr, --d-lr), check the data for NaN, and restart from that checkpoint.
            """)
    }

    mutating func observe(_ step: TrainingStep) -> HealthFinding {
        guard let began, step.step > began else { return .unknown }
        let finite = step.workers.values.allSatisfy { values in Self.tags.allSatisfy { values[$0]?.isFinite ?? true } }
        guard finite else { return .unknown }
        self.began = nil
        return .absent
    }
}
