// The contract every layer keeps: a forward pass that caches what its backward pass needs,
// and a backward pass that adds parameter gradients and returns the input gradient.
import AgonTensor

/// What a forward pass needs to know beyond its input.
public struct ForwardContext: Sendable {
    /// Training mode: BatchNorm uses batch statistics and updates its moving ones; Dropout drops.
    public var training: Bool
    /// The global step, for per-step random draws (Dropout).
    public var step: Int
    /// The global index of the batch's first sample, so a worker's draws equal the draws a
    /// single process would make for the same samples.
    public var firstSample: Int
    /// Which pass of the step this is (D on real data, on generated data, …), so that two
    /// passes over the same samples draw different Dropout masks.
    public var pass: Int

    public init(training: Bool, step: Int = 0, firstSample: Int = 0, pass: Int = 0) {
        self.training = training
        self.step = step
        self.firstSample = firstSample
        self.pass = pass
    }

    /// The same context for another pass of the step.
    public func pass(_ pass: Int) -> ForwardContext {
        ForwardContext(training: training, step: step, firstSample: firstSample, pass: pass)
    }

    /// Inference: moving statistics, no dropout.
    public static let inference = ForwardContext(training: false)
}

/// A layer with an explicit forward and backward pass.
///
/// `forward` caches its input and whatever else `backward` needs; buffers are made once per
/// batch size and reused, so a step allocates nothing. A layer object runs one pass at a time:
/// to run a network twice before its backward passes (D on real and on fake data), use a
/// `replica()`, which shares parameters but not caches.
public protocol Layer: AnyObject {
    /// The Keras class name, lowercased, used in parameter names (`dense`, `conv2d`, …).
    var kind: String { get }
    /// Trainable parameters then state, in Keras order.
    var parameters: [Parameter] { get }
    /// The per-sample output shape for a per-sample input shape.
    func outputShape(for inputShape: [Int]) -> [Int]
    /// Computes the output for a batch, whose first dimension is the batch size.
    func forward(_ input: Tensor, context: ForwardContext) -> Tensor
    /// From the gradient of the loss with respect to the last `forward`'s output, adds the
    /// parameter gradients (when `parameterGradients`) and returns the input gradient (when
    /// `inputGradient`, else nil).
    func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor?
    /// A layer sharing this one's parameters, with its own caches.
    func replica() -> Layer
}

/// Per-batch-size resources of a layer or a step (buffers, oneDNN primitives), made on first use.
public final class BatchCache<Resources> {
    private var entries: [Int: Resources] = [:]
    private var lastBatch = -1
    private var last: Resources?

    public init() {}

    /// The resources for `batch`, made by `make` the first time that batch size is seen.
    @inline(__always)
    public func get(_ batch: Int, _ make: () -> Resources) -> Resources {
        if batch == lastBatch, let last { return last }
        let resources = entries[batch] ?? make()
        entries[batch] = resources
        lastBatch = batch
        last = resources
        return resources
    }
}
