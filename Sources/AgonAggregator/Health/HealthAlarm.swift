// What the health monitor says about a run: an alarm that began at a step, with what was seen
// and what to try, or the end of one.

/// A named, explained alarm about a run's training, raised once when it begins.
public struct HealthAlarm: Sendable, Equatable {
    /// The detector's name: `discriminator_overpowering`, `vanishing_generator_gradients`,
    /// `gradient_norm_bound`, `non_finite_loss`, `mode_collapse` or `worker_divergence`.
    public var name: String
    /// The training step where the condition began (the first step of the window that met it).
    public var step: Int64
    /// What was seen, in numbers, and what to try.
    public var message: String

    /// The alarm `name`, begun at `step`, saying `message`.
    public init(name: String, step: Int64, message: String) {
        self.name = name
        self.step = step
        self.message = message
    }
}

/// A change in what the monitor holds to be wrong.
public enum HealthChange: Sendable, Equatable {
    /// An alarm began; it is to be stored, logged and shown.
    case raised(HealthAlarm)
    /// The alarm `name` no longer holds as of `step`; it may be raised again later.
    case cleared(name: String, step: Int64)
}
