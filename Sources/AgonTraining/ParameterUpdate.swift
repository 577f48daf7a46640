// The seam between computing gradients and applying them: a local optimizer step here, an
// average across workers through the coordinator in distributed training.
import AgonNN
import AgonTensor

/// One of the two networks of a GAN.
public enum GANNetwork: String, Sendable, CaseIterable {
    case generator = "g", discriminator = "d"
}

/// Turns the gradients accumulated in a network's parameters into new parameter values.
///
/// `LocalUpdate` runs the optimizer in this process. A distributed implementation sends the
/// gradients to the coordinator, which averages those of every live worker, steps its
/// optimizer and returns the parameters; the training step does not know which it talks to.
public protocol ParameterUpdate: AnyObject {
    /// Updates `networks`' parameters from their gradients, for global step `step`; `metrics`
    /// holds what the step has measured so far (its losses), for the coordinator's progress.
    func apply(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws

    /// Says that `networks`' gradients for `step` are final before the step ends (in a
    /// simultaneous step, the discriminator's, before the generator's backward pass), so a
    /// distributed update can start averaging them while the step goes on. `apply` still
    /// follows with every network of the step. Does nothing by default.
    func gradientsReady(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws
}

extension ParameterUpdate {
    public func gradientsReady(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws {}
}

/// Adam (or SGD) for each network, in this process: the no-op average of a one-worker run.
public final class LocalUpdate: ParameterUpdate {
    public let generatorOptimizer: Optimizer
    public let discriminatorOptimizer: Optimizer

    public init(generator: Optimizer, discriminator: Optimizer) {
        generatorOptimizer = generator
        discriminatorOptimizer = discriminator
    }

    /// Adam with the seed's and the fixtures' settings (lr 1e-4, β₁ 0.9, β₂ 0.999, ε 1e-7),
    /// with a learning rate per network (a D much faster than G makes a run whose
    /// discriminator overpowers its generator).
    public convenience init(adamFor model: GANModel, generatorLearningRate: Float = 1e-4, discriminatorLearningRate: Float = 1e-4) {
        self.init(generator: Adam(parameters: model.generator.trainableParameters, learningRate: generatorLearningRate),
                  discriminator: Adam(parameters: model.discriminator.trainableParameters, learningRate: discriminatorLearningRate))
    }

    public func optimizer(for network: GANNetwork) -> Optimizer {
        network == .generator ? generatorOptimizer : discriminatorOptimizer
    }

    public func apply(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws {
        for network in networks { optimizer(for: network).step() }
    }
}
