// A network as a list of layers (Keras `Sequential`): forward in order, backward in reverse,
// and parameters named as Keras and the reference fixtures name them.
import AgonTensor

/// Layers applied in order.
///
/// Parameters are named `<prefix>/<index>_<kind>/<name>` (`g/0_dense/kernel`), the index being
/// the layer's position, as in the TensorFlow reference files.
public final class Sequential {
    /// The name prefix of every parameter (`g`, `d`).
    public let name: String
    /// The per-sample input shape.
    public let inputShape: [Int]
    public let layers: [Layer]

    public init(name: String, inputShape: [Int], layers: [Layer]) {
        self.name = name
        self.inputShape = inputShape
        self.layers = layers
        _ = outputShape  // checks that the shapes chain
    }

    /// The per-sample output shape.
    public var outputShape: [Int] { layers.reduce(inputShape) { $1.outputShape(for: $0) } }

    /// Every parameter with its full name, trainable and state, in layer order.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        layers.enumerated().flatMap { index, layer in
            layer.parameters.map { ("\(name)/\(index)_\(layer.kind)/\($0.name)", $0) }
        }
    }

    /// The parameters an optimizer updates, in layer order.
    public var trainableParameters: [Parameter] { namedParameters.map(\.parameter).filter(\.isTrainable) }

    /// The number of trainable scalars.
    public var trainableCount: Int { trainableParameters.reduce(0) { $0 + $1.value.count } }

    /// The number of state scalars (moving statistics).
    public var stateCount: Int { namedParameters.map(\.parameter).filter { !$0.isTrainable }.reduce(0) { $0 + $1.value.count } }

    /// Runs every layer on a batch.
    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        var x = input
        for layer in layers { x = layer.forward(x, context: context) }
        return x
    }

    /// Runs every layer's backward pass in reverse; the first layer computes its input
    /// gradient only when `inputGradient` is true.
    @discardableResult
    public func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        var dy = outputGradient
        for (i, layer) in layers.enumerated().reversed() {
            let needInput = i > 0 || inputGradient
            guard let dx = layer.backward(dy, parameterGradients: parameterGradients, inputGradient: needInput) else { return nil }
            dy = dx
        }
        return dy
    }

    /// Sets every gradient to zero.
    public func zeroGradients() {
        for p in trainableParameters { p.gradient!.zero() }
    }

    /// The L2 norm of all gradients together.
    public func gradientNorm() -> Float {
        Float(trainableParameters.reduce(0.0) { $0 + Elementwise.sumOfSquares($1.gradient!.pointer, count: $1.value.count) }.squareRoot())
    }

    /// A network sharing these parameters with its own activation caches.
    public func replica() -> Sequential {
        Sequential(name: name, inputShape: inputShape, layers: layers.map { $0.replica() })
    }
}
