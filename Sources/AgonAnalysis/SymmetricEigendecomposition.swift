// Symmetric eigen-decompositions on LAPACK (dsyevd over OpenBLAS, kept on one thread), and the
// small dense Double products FID needs around them.
import CLAPACKE

@_silgen_name("openblas_set_num_threads")
private func openblas_set_num_threads(_ count: Int32)

/// Set once, on first use: OpenBLAS would otherwise start a thread per core inside `dsyevd`,
/// competing with the training threads. Immutable after initialisation, so not shared state.
private let openBLASOnOneThread: Void = openblas_set_num_threads(1)

/// `A = V Λ Vᵀ` of a symmetric n × n matrix: eigenvalues ascending, eigenvectors orthonormal.
struct SymmetricEigendecomposition {
    /// The order n.
    let order: Int
    /// λ₁ ≤ … ≤ λₙ.
    let eigenvalues: [Double]
    /// Column-major V: eigenvector `j` is `eigenvectors[j * n ..< (j + 1) * n]`.
    let eigenvectors: [Double]

    /// Decomposes the symmetric `matrix` (n × n; only its upper triangle is read) with LAPACK's
    /// divide-and-conquer `dsyevd`.
    ///
    /// - Parameter what: names the matrix in the error message.
    /// - Throws: `.lapackFailure` with LAPACK's `info` if the solver does not converge or rejects
    ///   an argument.
    init(_ matrix: [Double], order n: Int, what: String) throws {
        precondition(matrix.count == n * n, "a symmetric matrix of order \(n) needs \(n * n) values, got \(matrix.count)")
        _ = openBLASOnOneThread
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        // Symmetric, so row- and column-major are the same matrix; column-major output makes
        // each eigenvector contiguous. 'U' in column-major reads our row-major lower triangle,
        // which equals the upper one.
        let info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")),
                                  Int32(n), &a, Int32(n), &w)
        guard info == 0 else {
            let reason = info < 0 ? "rejected argument \(-info)" : "did not converge"
            throw AnalysisError(.lapackFailure, "LAPACK dsyevd on \(what) (order \(n)) \(reason); check the features for degenerate or huge values", lapackInfo: Int32(info))
        }
        order = n
        eigenvalues = w
        eigenvectors = a
    }

    /// `V f(Λ) Vᵀ`, row-major (symmetric), for a function of the eigenvalues such as the
    /// clamped square root.
    func reassembled(_ f: (Double) -> Double) -> [Double] {
        let n = order
        var result = [Double](repeating: 0, count: n * n)
        result.withUnsafeMutableBufferPointer { r in
            eigenvectors.withUnsafeBufferPointer { v in
                for k in 0..<n {
                    let scale = f(eigenvalues[k])
                    guard scale != 0 else { continue }
                    let vk = v.baseAddress! + k * n
                    // R += f(λ_k) · v_k v_kᵀ   (n, n)
                    for i in 0..<n {
                        let s = scale * vk[i]
                        let row = r.baseAddress! + i * n
                        for j in 0..<n { row[j] += s * vk[j] }
                    }
                }
            }
        }
        return result
    }
}

/// `A · B` of two n × n row-major Double matrices (i-k-j order, so the inner loop vectorises).
func multiplySquare(_ a: [Double], _ b: [Double], order n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: n * n)
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                for i in 0..<n {
                    let cRow = c.baseAddress! + i * n
                    for k in 0..<n {
                        let aik = a[i * n + k]
                        let bRow = b.baseAddress! + k * n
                        for j in 0..<n { cRow[j] += aik * bRow[j] }
                    }
                }
            }
        }
    }
    return c
}
