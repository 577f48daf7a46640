// Elementwise kernels over raw Float32 buffers: the work between oneDNN primitives, on the C
// kernels in CAgonKernels (vectorised for the CPU at hand).
import CAgonKernels

/// Elementwise kernels on contiguous Float32 buffers.
///
/// The loops are C (`Sources/CAgonKernels`): Swift's SIMD types lower square roots to scalar
/// `sqrtf` calls and selects to branches, which made Adam and LeakyReLU a third of an MLP step.
public enum Elementwise {
    /// `y[i] += x[i]`.
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        agon_add(x, y, count)
    }

    /// `y[i] *= a`.
    @inline(__always)
    public static func scale(_ y: UnsafeMutablePointer<Float>, by a: Float, count: Int) {
        agon_scale(y, a, count)
    }

    /// `y[i] = (inputs[0][i] + inputs[1][i] + …) / inputs.count`, summed in the order given and
    /// then scaled by `1 / count`, in one pass over memory: the coordinator's average.
    public static func mean(of inputs: [UnsafePointer<Float>], into y: UnsafeMutablePointer<Float>, count: Int) {
        precondition(!inputs.isEmpty, "a mean needs at least 1 input")
        inputs.map { Optional($0) }.withUnsafeBufferPointer { agon_mean($0.baseAddress!, inputs.count, y, count, 1 / Float(inputs.count)) }
    }

    /// `mean(of:into:count:)` over arrays of at least `count` values each.
    public static func mean(of arrays: [[Float]], into y: UnsafeMutablePointer<Float>, count: Int) {
        func gather(_ rest: ArraySlice<[Float]>, _ pointers: [UnsafePointer<Float>]) {
            guard let first = rest.first else { return mean(of: pointers, into: y, count: count) }
            precondition(first.count >= count, "an input of \(first.count) values for a mean of \(count)")
            first.withUnsafeBufferPointer { gather(rest.dropFirst(), pointers + [$0.baseAddress!]) }
        }
        gather(arrays[...], [])
    }

    /// Σ x[i]², accumulated in blocks of Float32 summed in Double.
    @inline(__always)
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        agon_sum_squares(x, count)
    }

    /// Each of `rows` rows of `y` (length `length`) gets `bias` added.
    public static func addRowVector(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>,
                                    rows: Int, length: Int) {
        for r in 0..<rows { agon_add(bias, y + r * length, length) }
    }

    /// Copies the row vector `row` (length `length`) into each of `rows` rows of `y`.
    public static func fillRows(_ y: UnsafeMutablePointer<Float>, with row: UnsafePointer<Float>, rows: Int, length: Int) {
        for r in 0..<rows { (y + r * length).update(from: row, count: length) }
    }

    /// `sums[j] += Σ_r y[r, j]`: the bias gradient of a dense or convolution layer.
    public static func accumulateColumnSums(of y: UnsafePointer<Float>, rows: Int, length: Int,
                                            into sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { agon_add(y + r * length, sums, length) }
    }

    /// `y[i] = max(x[i], 0) + slope · min(x[i], 0)`: ReLU for slope 0, LeakyReLU otherwise.
    @inline(__always)
    public static func leakyReLU(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                 count: Int, slope: Float) {
        agon_leaky_relu(x, y, count, slope)
    }

    /// `dx[i] = dy[i]` where `x[i] > 0`, else `slope · dy[i]`; `x` may be the layer's input or,
    /// for slope ≥ 0, its output (the sign is the same).
    @inline(__always)
    public static func leakyReLUBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                         _ dx: UnsafeMutablePointer<Float>, count: Int, slope: Float) {
        agon_leaky_relu_backward(x, dy, dx, count, slope)
    }

    /// `dx[i] = dy[i] · y[i] · (1 − y[i])`, the sigmoid's derivative from its output `y`.
    @inline(__always)
    public static func sigmoidBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                       _ dx: UnsafeMutablePointer<Float>, count: Int) {
        agon_sigmoid_backward(y, dy, dx, count)
    }

    /// `dx[i] = dy[i] · (1 − y[i]²)`, tanh's derivative from its output `y`.
    @inline(__always)
    public static func tanhBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, count: Int) {
        agon_tanh_backward(y, dy, dx, count)
    }

    /// Multiplies by a 0/1 keep mask and by `scale`: `y[i] = x[i] · mask[i] · scale`.
    @inline(__always)
    public static func applyMask(_ x: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                 _ y: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        agon_apply_mask(x, mask, y, count, scale)
    }

    /// One Adam step over `count` parameters in Keras form (see `Adam` in AgonNN):
    /// `m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − rate·m/(√v + ε)`.
    @inline(__always)
    public static func adam(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                            rate: Float, beta1: Float, beta2: Float, epsilon: Float) {
        agon_adam(w, g, m, v, count, rate, beta1, beta2, epsilon)
    }
}
