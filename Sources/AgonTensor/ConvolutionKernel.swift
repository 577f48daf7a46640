// 2-D convolution and transposed convolution on oneDNN primitives, NHWC activations and
// Keras kernel layouts at the edges.
import CDNNL

/// Padding as Keras and TensorFlow define it.
public enum Padding: String, Sendable, CaseIterable {
    /// Output extent ⌈in / stride⌉ (× stride for a transposed convolution); any odd padding
    /// goes after, as in TensorFlow.
    case same
    /// No padding.
    case valid
}

/// The sizes of one convolution at one batch size, with TensorFlow's padding worked out.
public struct ConvolutionGeometry: Equatable, Sendable {
    public var batch: Int
    public var inputHeight: Int, inputWidth: Int, inputChannels: Int
    public var outputHeight: Int, outputWidth: Int, outputChannels: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideHeight: Int, strideWidth: Int
    public var padTop: Int, padBottom: Int, padLeft: Int, padRight: Int
    /// A transposed convolution (Keras `Conv2DTranspose`): the gradient of a convolution with
    /// respect to its input, so the padding is that of the convolution from output to input.
    public var transposed: Bool

    /// Works out output size and padding as TensorFlow does.
    public init(batch: Int, inputHeight: Int, inputWidth: Int, inputChannels: Int,
                outputChannels: Int, kernel: (Int, Int), stride: (Int, Int),
                padding: Padding, transposed: Bool) {
        self.batch = batch
        self.inputHeight = inputHeight; self.inputWidth = inputWidth; self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelHeight = kernel.0; self.kernelWidth = kernel.1
        self.strideHeight = stride.0; self.strideWidth = stride.1
        self.transposed = transposed
        func axis(_ n: Int, _ k: Int, _ s: Int) -> (out: Int, before: Int, after: Int) {
            if transposed {
                switch padding {
                case .same:
                    let out = n * s
                    let total = max((n - 1) * s + k - out, 0)
                    return (out, total / 2, total - total / 2)
                case .valid:
                    precondition(k >= s, "valid transposed convolution needs kernel \(k) ≥ stride \(s)")
                    return ((n - 1) * s + k, 0, 0)
                }
            }
            switch padding {
            case .same:
                let out = (n + s - 1) / s
                let total = max((out - 1) * s + k - n, 0)
                return (out, total / 2, total - total / 2)
            case .valid:
                precondition(n >= k, "valid convolution needs input \(n) ≥ kernel \(k)")
                return ((n - k) / s + 1, 0, 0)
            }
        }
        let h = axis(inputHeight, kernel.0, stride.0), w = axis(inputWidth, kernel.1, stride.1)
        outputHeight = h.out; padTop = h.before; padBottom = h.after
        outputWidth = w.out; padLeft = w.before; padRight = w.after
    }

    /// Elements of the input tensor (N, H, W, C).
    public var inputCount: Int { batch * inputHeight * inputWidth * inputChannels }
    /// Elements of the output tensor (N, OH, OW, OC).
    public var outputCount: Int { batch * outputHeight * outputWidth * outputChannels }
    /// Elements of the kernel.
    public var kernelCount: Int { kernelHeight * kernelWidth * inputChannels * outputChannels }
    /// The Keras kernel shape: [kh, kw, in, out], or [kh, kw, out, in] when transposed.
    public var kernelShape: [Int] {
        transposed ? [kernelHeight, kernelWidth, outputChannels, inputChannels]
                   : [kernelHeight, kernelWidth, inputChannels, outputChannels]
    }
}

/// The forward, backward-data and backward-weights primitives of one convolution, created once
/// and run every step.
///
/// Kernels stay in Keras layout in the layer; they are reordered to the format each primitive
/// chose (oneDNN picks blocked formats for its AVX-512 kernels) before each use, and weight
/// gradients are reordered back to Keras layout and added to the layer's gradient.
public final class ConvolutionKernel {
    public let geometry: ConvolutionGeometry
    private let hasBias: Bool
    private let forwardPrimitive: Primitive
    private let backwardDataPrimitive: Primitive
    private let backwardWeightsPrimitive: Primitive
    private let forwardWeights: FormattedWeights
    private let backwardDataWeights: FormattedWeights
    private let gradientWeights: FormattedWeights
    private let biasScratch: TensorStorage

    /// Creates the three primitives for `geometry`, with a bias when `bias` is true.
    public init(_ engine: Engine, geometry g: ConvolutionGeometry, bias: Bool) {
        geometry = g
        hasBias = bias
        let src = DNNL.memoryDesc([g.batch, g.inputChannels, g.inputHeight, g.inputWidth], dnnl_nhwc)
        let dst = DNNL.memoryDesc([g.batch, g.outputChannels, g.outputHeight, g.outputWidth], dnnl_nhwc)
        let weightDims = [g.outputChannels, g.inputChannels, g.kernelHeight, g.kernelWidth]
        // Keras: Conv2D [kh, kw, in, out] is oneDNN's hwio; Conv2DTranspose [kh, kw, out, in]
        // has no tag, so it is given by strides over (OC, IC, KH, KW).
        let keras = g.transposed
            ? DNNL.memoryDesc(weightDims, strides: [g.inputChannels, 1,
                                                    g.kernelWidth * g.outputChannels * g.inputChannels,
                                                    g.outputChannels * g.inputChannels])
            : DNNL.memoryDesc(weightDims, dnnl_hwio)
        let anyWeights = DNNL.memoryDesc(weightDims, dnnl_format_tag_any)
        var biasDesc = DNNL.memoryDesc([g.outputChannels], dnnl_a)
        var srcDesc = src, dstDesc = dst, anyDesc = anyWeights
        let strides: [Int64] = [Int64(g.strideHeight), Int64(g.strideWidth)]
        let padL: [Int64] = [Int64(g.padTop), Int64(g.padLeft)]
        let padR: [Int64] = [Int64(g.padBottom), Int64(g.padRight)]
        let alg = g.transposed ? dnnl_deconvolution_direct : dnnl_convolution_direct

        var fwd = dnnl_convolution_desc_t()
        var bwdData = dnnl_convolution_desc_t()
        var bwdWeights = dnnl_convolution_desc_t()
        withUnsafeMutablePointer(to: &biasDesc) { biasPointer in
            let b: UnsafeMutablePointer<dnnl_memory_desc_t>? = bias ? biasPointer : nil
            if g.transposed {
                DNNL.check(dnnl_deconvolution_forward_desc_init(&fwd, dnnl_forward_training, alg, &srcDesc, &anyDesc, b, &dstDesc, strides, padL, padR), "deconvolution forward \(g)")
                DNNL.check(dnnl_deconvolution_backward_data_desc_init(&bwdData, alg, &srcDesc, &anyDesc, &dstDesc, strides, padL, padR), "deconvolution backward data \(g)")
                DNNL.check(dnnl_deconvolution_backward_weights_desc_init(&bwdWeights, alg, &srcDesc, &anyDesc, b, &dstDesc, strides, padL, padR), "deconvolution backward weights \(g)")
            } else {
                DNNL.check(dnnl_convolution_forward_desc_init(&fwd, dnnl_forward_training, alg, &srcDesc, &anyDesc, b, &dstDesc, strides, padL, padR), "convolution forward \(g)")
                DNNL.check(dnnl_convolution_backward_data_desc_init(&bwdData, alg, &srcDesc, &anyDesc, &dstDesc, strides, padL, padR), "convolution backward data \(g)")
                DNNL.check(dnnl_convolution_backward_weights_desc_init(&bwdWeights, alg, &srcDesc, &anyDesc, b, &dstDesc, strides, padL, padR), "convolution backward weights \(g)")
            }
        }
        // On the one-channel image side (a transposed convolution's forward to 1 channel, a
        // convolution's backward-data from 1 channel) oneDNN's gemm implementation with plain
        // weights beats its AVX-512 direct kernel about threefold; elsewhere its first choice wins.
        let gemm: (String) -> Bool = { $0.contains("gemm") }
        let imageSide = g.transposed ? g.outputChannels == 1 : g.inputChannels == 1
        forwardPrimitive = g.transposed && imageSide ? Primitive(engine, op: &fwd, preferring: gemm) : Primitive(engine, op: &fwd)
        backwardDataPrimitive = !g.transposed && imageSide
            ? Primitive(engine, op: &bwdData, hint: forwardPrimitive, preferring: gemm)
            : Primitive(engine, op: &bwdData, hint: forwardPrimitive)
        backwardWeightsPrimitive = Primitive(engine, op: &bwdWeights, hint: forwardPrimitive)

        forwardWeights = FormattedWeights(engine, keras: keras, chosen: forwardPrimitive.memoryDesc(dnnl_query_weights_md), toChosen: true)
        backwardDataWeights = FormattedWeights(engine, keras: keras, chosen: backwardDataPrimitive.memoryDesc(dnnl_query_weights_md), toChosen: true)
        gradientWeights = FormattedWeights(engine, keras: keras, chosen: backwardWeightsPrimitive.memoryDesc(dnnl_query_diff_weights_md), toChosen: false)
        biasScratch = TensorStorage(capacity: g.outputChannels)

        forwardPrimitive.bind(DNNL.src, forwardPrimitive.memoryDesc(dnnl_query_src_md))
        forwardPrimitive.bind(DNNL.weights, forwardWeights.chosen)
        if bias { forwardPrimitive.bind(DNNL.bias, biasDesc) }
        forwardPrimitive.bind(DNNL.dst, forwardPrimitive.memoryDesc(dnnl_query_dst_md))

        backwardDataPrimitive.bind(DNNL.diffDst, backwardDataPrimitive.memoryDesc(dnnl_query_diff_dst_md))
        backwardDataPrimitive.bind(DNNL.weights, backwardDataWeights.chosen)
        backwardDataPrimitive.bind(DNNL.diffSrc, backwardDataPrimitive.memoryDesc(dnnl_query_diff_src_md))

        backwardWeightsPrimitive.bind(DNNL.src, backwardWeightsPrimitive.memoryDesc(dnnl_query_src_md))
        backwardWeightsPrimitive.bind(DNNL.diffDst, backwardWeightsPrimitive.memoryDesc(dnnl_query_diff_dst_md))
        backwardWeightsPrimitive.bind(DNNL.diffWeights, gradientWeights.chosen)
        if bias { backwardWeightsPrimitive.bind(DNNL.diffBias, biasDesc) }
    }

    /// `y = x ⋆ W (+ b)`: input (N, H, W, IC) → output (N, OH, OW, OC).
    public func forward(input: UnsafeMutablePointer<Float>, kernel: UnsafeMutablePointer<Float>,
                        bias: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        var args: [(Int32, UnsafeMutableRawPointer)] = [
            (DNNL.src, UnsafeMutableRawPointer(input)),
            (DNNL.weights, forwardWeights.prepare(kernel)),
            (DNNL.dst, UnsafeMutableRawPointer(output)),
        ]
        if hasBias, let bias { args.append((DNNL.bias, UnsafeMutableRawPointer(bias))) }
        forwardPrimitive.execute(args)
    }

    /// `dx = dy ⋆ᵀ W`: output gradient (N, OH, OW, OC) → input gradient (N, H, W, IC), overwritten.
    public func backwardData(outputGradient: UnsafeMutablePointer<Float>, kernel: UnsafeMutablePointer<Float>,
                             inputGradient: UnsafeMutablePointer<Float>) {
        backwardDataPrimitive.execute([
            (DNNL.diffDst, UnsafeMutableRawPointer(outputGradient)),
            (DNNL.weights, backwardDataWeights.prepare(kernel)),
            (DNNL.diffSrc, UnsafeMutableRawPointer(inputGradient)),
        ])
    }

    /// `dW += xᵀ ⋆ dy` (Keras layout) and `db += Σ dy`: gradients added to what is there.
    public func backwardWeights(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                                kernelGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) {
        var args: [(Int32, UnsafeMutableRawPointer)] = [
            (DNNL.src, UnsafeMutableRawPointer(input)),
            (DNNL.diffDst, UnsafeMutableRawPointer(outputGradient)),
            (DNNL.diffWeights, UnsafeMutableRawPointer(gradientWeights.scratch.pointer)),
        ]
        if hasBias { args.append((DNNL.diffBias, UnsafeMutableRawPointer(biasScratch.pointer))) }
        backwardWeightsPrimitive.execute(args)
        gradientWeights.accumulateToKeras(into: kernelGradient, count: geometry.kernelCount)
        if hasBias, let biasGradient {
            Elementwise.add(biasScratch.pointer, into: biasGradient, count: geometry.outputChannels)
        }
    }
}

/// A kernel kept in Keras layout and the format one primitive chose, with the reorder between.
final class FormattedWeights {
    let chosen: dnnl_memory_desc_t
    let scratch: TensorStorage
    private let reorder: Reorder?
    private let kerasScratch: TensorStorage?

    init(_ engine: Engine, keras: dnnl_memory_desc_t, chosen: dnnl_memory_desc_t, toChosen: Bool) {
        self.chosen = chosen
        scratch = TensorStorage(capacity: (DNNL.size(chosen) + 3) / 4)
        if DNNL.equal(keras, chosen) {
            reorder = nil
            kerasScratch = nil
        } else {
            reorder = toChosen ? Reorder(engine, from: keras, to: chosen) : Reorder(engine, from: chosen, to: keras)
            kerasScratch = toChosen ? nil : TensorStorage(capacity: (DNNL.size(keras) + 3) / 4)
        }
    }

    /// The kernel in the chosen format: the Keras buffer itself when the formats agree.
    func prepare(_ kernel: UnsafeMutablePointer<Float>) -> UnsafeMutableRawPointer {
        guard let reorder else { return UnsafeMutableRawPointer(kernel) }
        reorder.run(from: UnsafeMutableRawPointer(kernel), to: UnsafeMutableRawPointer(scratch.pointer))
        return UnsafeMutableRawPointer(scratch.pointer)
    }

    /// Adds the gradient in `scratch` (chosen format) to `gradient` (Keras layout).
    func accumulateToKeras(into gradient: UnsafeMutablePointer<Float>, count: Int) {
        if let reorder, let kerasScratch {
            reorder.run(from: UnsafeMutableRawPointer(scratch.pointer), to: UnsafeMutableRawPointer(kerasScratch.pointer))
            Elementwise.add(kerasScratch.pointer, into: gradient, count: count)
        } else {
            Elementwise.add(scratch.pointer, into: gradient, count: count)
        }
    }
}
