// A named tensor a layer owns: trainable weights with their gradient, or state such as
// BatchNorm's moving statistics.
import AgonTensor

/// One tensor of a layer, named as Keras names it (`kernel`, `bias`, `gamma`, `moving_mean`, …).
///
/// Replicas of a layer share their `Parameter` objects, so two passes through one network
/// (D on real and on fake data) read the same weights and add into the same gradient.
public final class Parameter: @unchecked Sendable {
    /// The Keras name within its layer.
    public let name: String
    /// The current value.
    public let value: Tensor
    /// The accumulated gradient of the loss with respect to `value`; nil for state.
    public let gradient: Tensor?

    /// True when an optimizer updates this tensor.
    public var isTrainable: Bool { gradient != nil }

    /// A trainable parameter of `shape`, zero-filled, with a zero gradient.
    public init(trainable name: String, shape: [Int]) {
        self.name = name
        value = Tensor(zeros: shape)
        gradient = Tensor(zeros: shape)
    }

    /// A state tensor of `shape` filled with `initial`, updated by the layer itself.
    public init(state name: String, shape: [Int], initial: Float) {
        self.name = name
        value = Tensor(shape: shape, repeating: initial)
        gradient = nil
    }

    /// The shape of the value.
    public var shape: [Int] { value.shape }
}
