// Shape-only layers (Keras `Reshape`, `Flatten`): views of the same storage, no copies.
import AgonTensor

/// Sees each sample with another shape of the same size.
public final class Reshape: Layer {
    /// The per-sample output shape.
    public let targetShape: [Int]
    public let kind: String
    private var inputShape: [Int] = []

    /// Keras `Reshape(targetShape)`.
    public init(_ targetShape: [Int]) {
        self.targetShape = targetShape
        kind = "reshape"
    }

    /// Keras `Flatten()` for a per-sample input of `inputSize` elements.
    public init(flattening inputSize: Int) {
        targetShape = [inputSize]
        kind = "flatten"
    }

    private init(sharing other: Reshape) {
        targetShape = other.targetShape
        kind = other.kind
    }

    public var parameters: [Parameter] { [] }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == targetShape.reduce(1, *), "\(kind): cannot see \(inputShape) as \(targetShape)")
        return targetShape
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        inputShape = input.shape
        return input.reshaped([input.rows] + targetShape)
    }

    public func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        inputGradient ? outputGradient.reshaped(inputShape) : nil
    }

    public func replica() -> Layer { Reshape(sharing: self) }
}
