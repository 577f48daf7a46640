// Transcendental activations (sigmoid, tanh) on oneDNN's vectorised eltwise primitive.
import CDNNL

/// A oneDNN eltwise forward primitive for one function over a fixed element count.
///
/// Backward passes are computed from the output in `Elementwise`, which needs no primitive.
public final class EltwiseKernel {
    /// The functions Agon runs through oneDNN.
    public enum Function: Sendable {
        case sigmoid, tanh
    }

    private let primitive: Primitive

    /// A primitive computing `function` over `count` contiguous values.
    public init(_ engine: Engine, function: Function, count: Int) {
        var md = DNNL.memoryDesc([count], dnnl_a)
        let alg = function == .sigmoid ? dnnl_eltwise_logistic_use_dst_for_bwd : dnnl_eltwise_tanh_use_dst_for_bwd
        var desc = dnnl_eltwise_desc_t()
        DNNL.check(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_training, alg, &md, 0, 0), "eltwise \(function)")
        primitive = Primitive(engine, op: &desc)
        primitive.bind(DNNL.src, md)
        primitive.bind(DNNL.dst, md)
    }

    /// `y = f(x)`; `x` and `y` may be the same buffer.
    public func run(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        primitive.execute([(DNNL.src, .init(input)), (DNNL.dst, .init(output))])
    }
}
