// Matrix products on oneDNN's matmul primitive, made once per shape: the dense layers'
// forward (bias and activation fused), input-gradient and weight-gradient products.
import CDNNL

/// `C = f(op(A) · op(B) + bias)` or `C += op(A) · op(B)`, row-major, on a cached primitive.
///
/// Transposed operands are expressed by strides, without copies. Accumulation uses oneDNN's
/// `sum` post-op, so gradients of two passes add in place.
public final class MatmulKernel {
    /// An activation fused after the product (oneDNN eltwise post-op).
    public enum Epilogue: Sendable, Equatable {
        case none
        /// `max(x, 0) + slope · min(x, 0)`.
        case leakyReLU(slope: Float)
        case sigmoid
        case tanh
    }

    public let m: Int, n: Int, k: Int
    private let primitive: Primitive
    private let hasBias: Bool

    /// A primitive for `op(A)` (m, k) times `op(B)` (k, n) into `C` (m, n).
    ///
    /// - Parameters:
    ///   - accumulate: add into `C` instead of overwriting it.
    public init(_ engine: Engine, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
                bias: Bool = false, accumulate: Bool = false, epilogue: Epilogue = .none) {
        precondition(!(accumulate && epilogue != .none), "matmul: accumulate and an activation do not combine")
        self.m = m; self.n = n; self.k = k
        hasBias = bias
        // A stored (m, k) row-major, or (k, m) when transposed; likewise B.
        var a = DNNL.memoryDesc([m, k], strides: transposeA ? [1, m] : [k, 1])
        var b = DNNL.memoryDesc([k, n], strides: transposeB ? [1, k] : [n, 1])
        var c = DNNL.memoryDesc([m, n], strides: [n, 1])
        var biasDesc = DNNL.memoryDesc([1, n], strides: [n, 1])
        var desc = dnnl_matmul_desc_t()
        withUnsafePointer(to: &biasDesc) { biasPointer in
            DNNL.check(dnnl_matmul_desc_init(&desc, &a, &b, bias ? biasPointer : nil, &c), "matmul \(m)×\(k)·\(k)×\(n)")
        }

        var attributes: dnnl_primitive_attr_t?
        var postOps: dnnl_post_ops_t?
        DNNL.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        DNNL.check(dnnl_post_ops_create(&postOps), "post_ops_create")
        if accumulate { DNNL.check(dnnl_post_ops_append_sum(postOps, 1), "post_ops_append_sum") }
        switch epilogue {
        case .none: break
        case .leakyReLU(let slope): DNNL.check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, slope, 0), "relu post-op")
        case .sigmoid: DNNL.check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_logistic, 0, 0), "logistic post-op")
        case .tanh: DNNL.check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_tanh, 0, 0), "tanh post-op")
        }
        DNNL.check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set_post_ops")
        primitive = Primitive(engine, op: &desc, attributes: attributes)
        dnnl_post_ops_destroy(postOps)
        dnnl_primitive_attr_destroy(attributes)
        primitive.bind(DNNL.src, a)
        primitive.bind(DNNL.weights, b)
        primitive.bind(DNNL.dst, c)
        if bias { primitive.bind(DNNL.bias, biasDesc) }
    }

    /// Runs the product; `bias` is required exactly when the kernel was made with one.
    @inline(__always)
    public func run(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                    into c: UnsafeMutablePointer<Float>) {
        if hasBias {
            guard let bias else { preconditionFailure("matmul made with a bias was run without one") }
            primitive.execute([(DNNL.src, .init(mutating: a)), (DNNL.weights, .init(mutating: b)),
                               (DNNL.bias, .init(mutating: bias)), (DNNL.dst, .init(c))])
        } else {
            primitive.execute([(DNNL.src, .init(mutating: a)), (DNNL.weights, .init(mutating: b)), (DNNL.dst, .init(c))])
        }
    }
}
