// G's gradient shrinks towards zero: G has stopped learning, typically because D saturates
// (with the minimax loss) or G's units have died.

/// Raised when the cross-worker mean of `g_grad_norm` over ``window`` completed steps falls
/// below ``fraction`` of its early level, the mean over the first ``referenceSteps`` steps; it
/// began at the first step in the window whose own value was below that. It clears once the window's mean is back above
/// ``clearFraction`` of the early level.
///
/// Why these values: in healthy runs of the mlp GAN G's gradient norm grows from about 1.5 to
/// 5–6 over the first thousands of steps and never falls below half its early level; even with
/// D's learning rate 50× G's, the non-saturating loss keeps it at the same order. A hundredfold
/// drop sustained over 100 steps is a G that no longer moves.
struct VanishingGeneratorGradients: HealthDetector {
    let name = "vanishing_generator_gradients"
    /// Completed steps the mean is taken over.
    static let window = 100
    /// Steps, from the first, whose mean is the early level.
    static let referenceSteps = 100
    /// The share of the early level below which G's gradient counts as vanished.
    static let fraction = 0.01
    /// The share of the early level above which the alarm clears.
    static let clearFraction = 0.05

    private var norm = SlidingMean(capacity: window)
    private var early = EarlyLevel(steps: referenceSteps)

    mutating func observe(_ step: TrainingStep) -> HealthFinding {
        guard let value = step.mean("g_grad_norm") else { return .unknown }
        early.add(value)
        norm.add(value, step: step.step)
        guard let reference = early.level, reference > 0, let mean = norm.mean else { return .unknown }
        if mean < Self.fraction * reference {
            let first = norm.firstStep { $0 < Self.fraction * reference } ?? step.step
            return .present(began: first, message: """
                over the \(Self.window) steps to \(step.step) G's gradient norm averaged \(formatted(mean)), \(percent(mean / reference)) of its \
                early level \(formatted(reference)) (alarm below \(percent(Self.fraction))), from step \(first) on: G has stopped learning. Try the \
                non-saturating G loss, a lower D learning rate, leaky ReLU instead of ReLU in G, or restarting from an earlier \
                checkpoint.
                """)
        }
        return mean > Self.clearFraction * reference ? .absent : .unknown
    }
}

/// The mean of the first finite values of a series, once it has `steps` of them.
struct EarlyLevel {
    let steps: Int
    private var sum = 0.0
    private var count = 0

    init(steps: Int) { self.steps = steps }

    /// Counts `value` if the level is not settled yet and it is finite.
    mutating func add(_ value: Double) {
        guard count < steps, value.isFinite else { return }
        sum += value
        count += 1
    }

    /// The level, once `steps` finite values were seen.
    var level: Double? { count == steps ? sum / Double(count) : nil }
}
