// A gradient norm far above where it started: the step before a loss turns NaN, or a run
// whose updates have become too large for its learning rate.

/// Raised when the cross-worker mean of `g_grad_norm` or `d_grad_norm` over ``window``
/// completed steps exceeds its bound: ``factor`` times its early level (the mean over the first
/// ``referenceSteps`` steps), and never more than ``ceiling``; it began at the first step in
/// the window whose own value was above the bound. It clears once both windows are back under half their bounds.
///
/// Why these values: in healthy mlp runs the norms stay within 1–12 (D) and 1–7 (G), a few
/// times their early level; with D's learning rate 50× G's they stay within the same order.
/// A hundredfold rise over 10 steps is an explosion in progress, caught before it becomes a
/// NaN. The ceiling catches a run that starts exploding before its early level is known.
struct GradientNormBound: HealthDetector {
    let name = "gradient_norm_bound"
    /// Completed steps the mean is taken over: short, as an explosion is fast.
    static let window = 10
    /// Steps, from the first, whose mean is the early level.
    static let referenceSteps = 100
    /// How many times its early level a gradient norm may reach.
    static let factor = 100.0
    /// The bound before the early level is known, and the most it can be.
    static let ceiling = 10_000.0

    private var norms = [Tracked(tag: "g_grad_norm", network: "G"), Tracked(tag: "d_grad_norm", network: "D")]

    /// One network's gradient norm: its window and early level.
    private struct Tracked {
        let tag: String
        let network: String
        var window = SlidingMean(capacity: GradientNormBound.window)
        var early = EarlyLevel(steps: GradientNormBound.referenceSteps)

        var bound: Double { min(early.level.map { GradientNormBound.factor * $0 } ?? GradientNormBound.ceiling, GradientNormBound.ceiling) }
    }

    mutating func observe(_ step: TrainingStep) -> HealthFinding {
        var over: [String] = [], first: Int64?, under = true, seen = false
        for index in norms.indices {
            guard let value = step.mean(norms[index].tag) else { continue }
            norms[index].early.add(value)
            norms[index].window.add(value, step: step.step)
            guard let mean = norms[index].window.mean else { continue }
            seen = true
            let bound = norms[index].bound
            if mean > bound {
                let start = norms[index].window.firstStep { $0 > bound } ?? step.step
                over.append("\(norms[index].network)'s gradient norm averaged \(formatted(mean)) over the \(GradientNormBound.window) steps to \(step.step) (from step \(start) on), above its bound \(formatted(bound))\(norms[index].early.level.map { " (\(formatted(GradientNormBound.factor))× its early level \(formatted($0)))" } ?? "")")
                first = min(first ?? start, start)
            }
            if mean > bound / 2 { under = false }
        }
        if let first {
            return .present(began: first, message: over.joined(separator: "; ") + """
                : the updates are exploding and a NaN may follow. Try a lower learning rate (--lr, --d-lr), gradient clipping, \
                or restarting from the last checkpoint.
                """)
        }
        return seen && under ? .absent : .unknown
    }
}
