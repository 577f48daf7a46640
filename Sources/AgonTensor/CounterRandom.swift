// Seeded counter-based random numbers: a draw depends only on (seed, stream, counters), never
// on how many processes share the work or in what order they draw.
import CAgonKernels

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

    /// The Philox key: the seed's low word, and its high word mixed with the stream.
    @inline(__always)
    private func key(_ stream: Stream) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32) ^ (stream.rawValue &* 0x9E37_79B9))
    }

    /// Four independent 32-bit words for a counter.
    @inline(__always)
    public func block(_ stream: Stream, _ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32 = 0) -> SIMD4<UInt32> {
        let (k0, k1) = key(stream)
        var counter = SIMD4<UInt32>(c0, c1, c2, c3)
        var out = SIMD4<UInt32>()
        withUnsafeBytes(of: &counter) { c in
            withUnsafeMutableBytes(of: &out) { o in
                agon_philox(c.baseAddress!.assumingMemoryBound(to: UInt32.self), k0, k1,
                            o.baseAddress!.assumingMemoryBound(to: UInt32.self))
            }
        }
        return out
    }

    /// A uniform value in the open interval (0, 1) from the top 23 bits of `word`.
    @inline(__always)
    public static func unit(_ word: UInt32) -> Float {
        (Float(word >> 9) + 0.5) * (1.0 / 8_388_608.0)
    }

    /// Fills `count` values with N(0, 1) draws for (`stream`, `a`, `b`, `c`): counter
    /// (j / 4, a, b, c) gives values j…j+3 through Box–Muller, so any prefix of the row is the
    /// same draw.
    public func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int, stream: Stream,
                           _ a: UInt32, _ b: UInt32, _ c: UInt32 = 0) {
        let (k0, k1) = key(stream)
        agon_fill_normal(out, count, k0, k1, a, b, c)
    }

    /// Fills `count` values uniform in (low, high) for (`stream`, `a`, `b`, `c`).
    public func fillUniform(_ out: UnsafeMutablePointer<Float>, count: Int, low: Float, high: Float,
                            stream: Stream, _ a: UInt32, _ b: UInt32, _ c: UInt32 = 0) {
        let (k0, k1) = key(stream)
        agon_fill_uniform(out, count, low, high, k0, k1, a, b, c)
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
