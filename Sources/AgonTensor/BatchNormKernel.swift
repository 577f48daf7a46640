// Batch normalisation on oneDNN's primitive: training (batch statistics) and inference
// (moving statistics), with the backward pass.
import CDNNL

/// oneDNN batch normalisation over the channel (last) axis of an (N, C) or NHWC tensor.
///
/// ```
/// y = γ · (x − μ_B) / √(σ²_B + ε) + β      (training: μ_B, σ²_B over N·H·W, biased variance)
/// y = γ · (x − μ) / √(σ² + ε) + β          (inference: moving μ, σ²)
/// ```
/// (Ioffe & Szegedy 2015; the variance is the biased one, as in Keras.)
public final class BatchNormKernel {
    public let channels: Int
    private let training: Primitive
    private let inference: Primitive
    private let backward: Primitive
    private let diffScale: TensorStorage
    private let diffShift: TensorStorage

    /// Primitives for `batch` samples of `spatial` positions (1 for dense features) of `channels`.
    public init(_ engine: Engine, batch: Int, spatial: (Int, Int)?, channels: Int, epsilon: Float) {
        self.channels = channels
        // Dense features are seen as 1×1 images: oneDNN's JIT kernels take NHWC, while plain
        // (N, C) falls back to a reference kernel several times slower.
        let (h, w) = spatial ?? (1, 1)
        let data = DNNL.memoryDesc([batch, channels, h, w], dnnl_nhwc)
        let stats = DNNL.memoryDesc([channels], dnnl_a)
        var dataDesc = data
        let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue

        var fwd = dnnl_batch_normalization_desc_t()
        DNNL.check(dnnl_batch_normalization_forward_desc_init(&fwd, dnnl_forward_training, &dataDesc, epsilon, flags), "batch norm forward")
        training = Primitive(engine, op: &fwd)
        var inf = dnnl_batch_normalization_desc_t()
        DNNL.check(dnnl_batch_normalization_forward_desc_init(&inf, dnnl_forward_inference, &dataDesc, epsilon, flags | dnnl_use_global_stats.rawValue), "batch norm inference")
        inference = Primitive(engine, op: &inf)
        var bwd = dnnl_batch_normalization_desc_t()
        DNNL.check(dnnl_batch_normalization_backward_desc_init(&bwd, dnnl_backward, &dataDesc, &dataDesc, epsilon, flags), "batch norm backward")
        backward = Primitive(engine, op: &bwd, hint: training)

        for p in [training, inference] {
            p.bind(DNNL.src, data); p.bind(DNNL.dst, data)
            p.bind(DNNL.mean, stats); p.bind(DNNL.variance, stats)
            p.bind(DNNL.scale, stats); p.bind(DNNL.shift, stats)
        }
        backward.bind(DNNL.src, data); backward.bind(DNNL.diffDst, data); backward.bind(DNNL.diffSrc, data)
        backward.bind(DNNL.mean, stats); backward.bind(DNNL.variance, stats)
        backward.bind(DNNL.scale, stats); backward.bind(DNNL.shift, stats)
        backward.bind(DNNL.diffScale, stats); backward.bind(DNNL.diffShift, stats)
        diffScale = TensorStorage(capacity: channels)
        diffShift = TensorStorage(capacity: channels)
    }

    /// Normalises with the batch's statistics and writes them to `mean` and `variance`.
    public func forwardTraining(input: UnsafeMutablePointer<Float>, gamma: UnsafeMutablePointer<Float>,
                                beta: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                                mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>) {
        training.execute([(DNNL.src, .init(input)), (DNNL.dst, .init(output)),
                          (DNNL.mean, .init(mean)), (DNNL.variance, .init(variance)),
                          (DNNL.scale, .init(gamma)), (DNNL.shift, .init(beta))])
    }

    /// Normalises with given (moving) statistics.
    public func forwardInference(input: UnsafeMutablePointer<Float>, gamma: UnsafeMutablePointer<Float>,
                                 beta: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>) {
        inference.execute([(DNNL.src, .init(input)), (DNNL.dst, .init(output)),
                           (DNNL.mean, .init(mean)), (DNNL.variance, .init(variance)),
                           (DNNL.scale, .init(gamma)), (DNNL.shift, .init(beta))])
    }

    /// `dx` (overwritten), and `dγ`, `dβ` added to the given gradients, from the training
    /// forward pass's input and statistics.
    public func backward(input: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                         variance: UnsafeMutablePointer<Float>, gamma: UnsafeMutablePointer<Float>,
                         beta: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                         inputGradient: UnsafeMutablePointer<Float>,
                         gammaGradient: UnsafeMutablePointer<Float>?, betaGradient: UnsafeMutablePointer<Float>?) {
        backward.execute([(DNNL.src, .init(input)), (DNNL.mean, .init(mean)), (DNNL.variance, .init(variance)),
                          (DNNL.scale, .init(gamma)), (DNNL.shift, .init(beta)),
                          (DNNL.diffDst, .init(outputGradient)), (DNNL.diffSrc, .init(inputGradient)),
                          (DNNL.diffScale, .init(diffScale.pointer)), (DNNL.diffShift, .init(diffShift.pointer))])
        if let gammaGradient { Elementwise.add(diffScale.pointer, into: gammaGradient, count: channels) }
        if let betaGradient { Elementwise.add(diffShift.pointer, into: betaGradient, count: channels) }
    }
}
