// A copy of what a step can change of one network, taken before a change that may have to be
// undone (a step whose other network turns out not finite, or a stop half-way through a step),
// so that the last completed step can still be checkpointed, bit for bit.
import AgonNN
import AgonTensor

/// One network's weights, moving statistics and optimizer state (slots and iteration count),
/// copied into buffers made once, and put back by `restore()`.
public final class NetworkSnapshot {
    public let network: GANNetwork
    private let optimizer: Optimizer
    /// Moving statistics (BatchNorm's), which a forward pass or an average may change.
    private let state: [(live: Tensor, copy: Tensor)]
    /// Trainable weights and the optimizer's slots, which only the optimizer changes.
    private let trained: [(live: Tensor, copy: Tensor)]
    private var iterations = 0
    /// What the snapshot holds: nothing, the moving statistics, or everything.
    public private(set) var holding = Holding.nothing

    public enum Holding: Comparable { case nothing, state, everything }

    public init(_ network: GANNetwork, of model: GANModel, update: LocalUpdate) {
        self.network = network
        optimizer = update.optimizer(for: network)
        let parameters = model.network(network).namedParameters.map(\.parameter)
        func pairs(_ tensors: [Tensor]) -> [(live: Tensor, copy: Tensor)] { tensors.map { ($0, Tensor(zeros: $0.shape)) } }
        state = pairs(parameters.filter { !$0.isTrainable }.map(\.value))
        trained = pairs(parameters.filter(\.isTrainable).map(\.value) + optimizer.slots.map(\.tensor))
    }

    /// Copies the moving statistics alone (`.state`) or everything (`.everything`); taking
    /// again replaces what was held.
    public func take(_ what: Holding = .everything) {
        if what >= .state { for pair in state { pair.copy.copy(from: pair.live) } }
        if what == .everything {
            for pair in trained { pair.copy.copy(from: pair.live) }
            iterations = optimizer.iterations
        }
        holding = what
    }

    /// Puts back what was taken and forgets it.
    public func restore() {
        if holding >= .state { for pair in state { pair.live.copy(from: pair.copy) } }
        if holding == .everything {
            for pair in trained { pair.live.copy(from: pair.copy) }
            optimizer.iterations = iterations
        }
        holding = .nothing
    }

    /// Forgets what was taken: the step it guarded is complete.
    public func discard() { holding = .nothing }
}
