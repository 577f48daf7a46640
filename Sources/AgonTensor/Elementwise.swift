// Vectorised elementwise kernels over raw Float32 buffers: the work between oneDNN primitives.

/// Elementwise kernels on contiguous Float32 buffers, 16 lanes at a time.
///
/// Written as `acc += a * b` rather than `addingProduct`, which compiles to scalar `fmaf`
/// calls at the default CPU target.
public enum Elementwise {
    public typealias Vector = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// `y[i] += x[i]`.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count { store(load(y + i) + load(x + i), y + i); i += 16 }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// `y[i] *= a`.
    public static func scale(_ y: UnsafeMutablePointer<Float>, by a: Float, count: Int) {
        var i = 0
        while i + 16 <= count { store(load(y + i) * a, y + i); i += 16 }
        while i < count { y[i] *= a; i += 1 }
    }

    /// Σ x[i]², accumulated in 16 lanes of Float32 then summed in Double.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var acc = Vector(repeating: 0)
        var i = 0
        while i + 16 <= count { let v = load(x + i); acc += v * v; i += 16 }
        var total = Double(acc.sum())
        while i < count { total += Double(x[i] * x[i]); i += 1 }
        return total
    }

    /// Each of `rows` rows of `y` (length `length`) gets `bias` added.
    public static func addRowVector(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>,
                                    rows: Int, length: Int) {
        for r in 0..<rows { add(bias, into: y + r * length, count: length) }
    }

    /// `sums[j] += Σ_r y[r, j]`: the bias gradient of a dense or convolution layer.
    public static func accumulateColumnSums(of y: UnsafePointer<Float>, rows: Int, length: Int,
                                            into sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { add(y + r * length, into: sums, count: length) }
    }

    /// `y[i] = max(x[i], 0) + slope · min(x[i], 0)`: ReLU for slope 0, LeakyReLU otherwise.
    public static func leakyReLU(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                 count: Int, slope: Float) {
        let zero = Vector(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let v = load(x + i)
            store(pointwiseMax(v, zero) + slope * pointwiseMin(v, zero), y + i)
            i += 16
        }
        while i < count { let v = x[i]; y[i] = v > 0 ? v : slope * v; i += 1 }
    }

    /// `dx[i] = dy[i]` where `x[i] > 0`, else `slope · dy[i]`; `x` may be the layer's input or,
    /// for slope ≥ 0, its output (the sign is the same).
    public static func leakyReLUBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                         _ dx: UnsafeMutablePointer<Float>, count: Int, slope: Float) {
        let zero = Vector(repeating: 0)
        let one = Vector(repeating: 1)
        let low = Vector(repeating: slope)
        var i = 0
        while i + 16 <= count {
            let factor = one.replacing(with: low, where: load(x + i) .<= zero)
            store(load(dy + i) * factor, dx + i)
            i += 16
        }
        while i < count { dx[i] = x[i] > 0 ? dy[i] : slope * dy[i]; i += 1 }
    }

    /// `dx[i] = dy[i] · y[i] · (1 − y[i])`, the sigmoid's derivative from its output `y`.
    public static func sigmoidBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                       _ dx: UnsafeMutablePointer<Float>, count: Int) {
        let one = Vector(repeating: 1)
        var i = 0
        while i + 16 <= count {
            let v = load(y + i)
            store(load(dy + i) * v * (one - v), dx + i)
            i += 16
        }
        while i < count { dx[i] = dy[i] * y[i] * (1 - y[i]); i += 1 }
    }

    /// `dx[i] = dy[i] · (1 − y[i]²)`, tanh's derivative from its output `y`.
    public static func tanhBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, count: Int) {
        let one = Vector(repeating: 1)
        var i = 0
        while i + 16 <= count {
            let v = load(y + i)
            store(load(dy + i) * (one - v * v), dx + i)
            i += 16
        }
        while i < count { dx[i] = dy[i] * (1 - y[i] * y[i]); i += 1 }
    }

    /// Multiplies by a 0/1 keep mask and by `scale`: `y[i] = x[i] · mask[i] · scale`.
    public static func applyMask(_ x: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                 _ y: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
        var i = 0
        while i + 16 <= count { store(load(x + i) * load(mask + i) * scale, y + i); i += 16 }
        while i < count { y[i] = x[i] * mask[i] * scale; i += 1 }
    }
}

extension Elementwise {
    /// Copies the row vector `row` (length `length`) into each of `rows` rows of `y`.
    public static func fillRows(_ y: UnsafeMutablePointer<Float>, with row: UnsafePointer<Float>, rows: Int, length: Int) {
        for r in 0..<rows { (y + r * length).update(from: row, count: length) }
    }
}
