// Seeded counter-based random numbers: a draw depends only on (seed, stream, counters), never
import Glibc
// on how many processes share the work or in what order they draw.

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
///
/// A pure function of a 128-bit counter and a 64-bit key. Agon keys it with the run's seed and
/// a stream id, and counts with (step, sample, element), so that the noise of sample i at step
/// s is the same whether one worker draws the whole batch or N workers draw their shards.
public struct CounterRandom: Sendable {
    /// Named streams, so that unrelated draws never share counters.
    public enum Stream: UInt32, Sendable {
        case latent = 1, dropout = 2, shuffle = 3, initializer = 4, fixedNoise = 5
    }

    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// Four independent 32-bit words for a counter.
    @inline(__always)
    public func block(_ stream: Stream, _ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32 = 0) -> SIMD4<UInt32> {
        var k0 = UInt32(truncatingIfNeeded: seed)
        var k1 = UInt32(truncatingIfNeeded: seed >> 32) ^ (stream.rawValue &* 0x9E37_79B9)
        var x = SIMD4<UInt32>(c0, c1, c2, c3)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x[0])
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x[2])
            x = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ x[1] ^ k0, UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ x[3] ^ k1, UInt32(truncatingIfNeeded: p0))
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return x
    }

    /// A uniform value in the open interval (0, 1) from 24 random bits.
    @inline(__always)
    public static func unit(_ word: UInt32) -> Float {
        (Float(word >> 8) + 0.5) * (1.0 / 16_777_216.0)
    }

    /// Fills `count` values with N(0, 1) draws for (`stream`, `a`, `b`): element j comes from
    /// counter (j / 4, a, b) through Box–Muller, so any prefix of the row is the same draw.
    public func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int, stream: Stream, _ a: UInt32, _ b: UInt32) {
        var j = 0
        while j < count {
            let w = block(stream, UInt32(j / 4), a, b)
            let u1 = Self.unit(w[0]), u2 = Self.unit(w[1]), u3 = Self.unit(w[2]), u4 = Self.unit(w[3])
            let r1 = (-2 * _log(u1)).squareRoot(), r2 = (-2 * _log(u3)).squareRoot()
            let t1 = 2 * Float.pi * u2, t2 = 2 * Float.pi * u4
            let values = SIMD4<Float>(r1 * _cos(t1), r1 * _sin(t1), r2 * _cos(t2), r2 * _sin(t2))
            for lane in 0..<4 where j < count { out[j] = values[lane]; j += 1 }
        }
    }

    /// Fills `count` values uniform in [low, high) for (`stream`, `a`, `b`).
    public func fillUniform(_ out: UnsafeMutablePointer<Float>, count: Int, low: Float, high: Float,
                            stream: Stream, _ a: UInt32, _ b: UInt32) {
        var j = 0
        while j < count {
            let w = block(stream, UInt32(j / 4), a, b)
            for lane in 0..<4 where j < count {
                out[j] = low + (high - low) * Self.unit(w[lane])
                j += 1
            }
        }
    }

    /// A permutation of 0..<n (Fisher–Yates) for (`stream`, `a`).
    public func permutation(_ n: Int, stream: Stream, _ a: UInt32) -> [Int] {
        var order = Array(0..<n)
        guard n > 1 else { return order }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let w = block(stream, UInt32(truncatingIfNeeded: i), a, UInt32(truncatingIfNeeded: i >> 32))
            let r = (UInt64(w[0]) << 32 | UInt64(w[1])) % UInt64(i + 1)
            order.swapAt(i, Int(r))
        }
        return order
    }
}

// libm through Glibc.
@inline(__always) func _log(_ x: Float) -> Float { Float(logf(x)) }
@inline(__always) func _cos(_ x: Float) -> Float { Float(cosf(x)) }
@inline(__always) func _sin(_ x: Float) -> Float { Float(sinf(x)) }
