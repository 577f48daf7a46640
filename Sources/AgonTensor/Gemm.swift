// Matrix products through oneDNN's sgemm: the dense layers' forward and backward passes.
import CDNNL

/// Row-major single-precision matrix products on oneDNN's JIT kernels.
public enum Gemm {
    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major; `op` transposes when asked.
    ///
    /// - Parameters:
    ///   - m, n, k: `op(A)` is (m, k), `op(B)` is (k, n), `C` is (m, n).
    ///   - beta: 0 overwrites `C`, 1 accumulates into it (gradients add across passes).
    @inline(__always)
    public static func multiply(
        _ a: UnsafePointer<Float>, transposeA: Bool = false,
        _ b: UnsafePointer<Float>, transposeB: Bool = false,
        into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
    ) {
        let lda = transposeA ? m : k
        let ldb = transposeB ? k : n
        let status = dnnl_sgemm(transposeA ? 84 : 78, transposeB ? 84 : 78,   // 'T' : 'N'
                                Int64(m), Int64(n), Int64(k), alpha,
                                a, Int64(lda), b, Int64(ldb), beta, c, Int64(n))
        DNNL.check(status, "dnnl_sgemm m=\(m) n=\(n) k=\(k)")
    }
}
