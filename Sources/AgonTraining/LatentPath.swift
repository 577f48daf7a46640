// Paths through the latent space between two vectors, for interpolation grids: straight lines,
// and great-circle arcs that keep a Gaussian latent's typical norm.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Points along a path from latent vector `a` to `b`.
///
/// A straight line between two N(0, I) draws passes close to the origin, where a generator has
/// seen few latents (in 100 dimensions a draw's norm is about 10, the line's midpoint's about
/// 7); a spherical path keeps the norm, as White recommends ("Sampling Generative Networks",
/// 2016) after Shoemake's quaternion slerp ("Animating rotation with quaternion curves", 1985).
public enum LatentPath: Sendable, Hashable, CaseIterable {
    /// `lerp(a, b, t) = (1 − t) a + t b`.
    case linear
    /// `slerp(a, b, t) = sin((1 − t) θ) / sin θ · a + sin(t θ) / sin θ · b`, θ the angle
    /// between a and b; the straight line where sin θ is too small to divide by (θ near 0,
    /// where the two agree, or near π, where the arc is not unique).
    case spherical

    /// sin θ below this falls back to the straight line.
    public static let smallestSine = 1e-6

    /// The point at `t` (0 gives `a`, 1 gives `b`).
    ///
    /// - Precondition: `a` and `b` have the same, non-zero length.
    public func point(from a: [Float], to b: [Float], at t: Double) -> [Float] {
        precondition(a.count == b.count && !a.isEmpty, "a latent path needs two vectors of one length, got \(a.count) and \(b.count)")
        switch self {
        case .linear:
            return zip(a, b).map { Float((1 - t) * Double($0) + t * Double($1)) }
        case .spherical:
            var dot = 0.0, normA = 0.0, normB = 0.0
            for (x, y) in zip(a, b) {
                dot += Double(x) * Double(y)
                normA += Double(x) * Double(x)
                normB += Double(y) * Double(y)
            }
            let denominator = (normA * normB).squareRoot()
            guard denominator > 0 else { return LatentPath.linear.point(from: a, to: b, at: t) }
            let theta = acos(min(1, max(-1, dot / denominator)))
            let sine = sin(theta)
            guard sine > Self.smallestSine else { return LatentPath.linear.point(from: a, to: b, at: t) }
            let wa = sin((1 - t) * theta) / sine, wb = sin(t * theta) / sine
            return zip(a, b).map { Float(wa * Double($0) + wb * Double($1)) }
        }
    }

    /// `steps` points from `a` to `b` at t = 0, 1/(steps − 1), …, 1, one after another
    /// (steps × length values).
    ///
    /// - Precondition: `steps ≥ 2`.
    public func points(from a: [Float], to b: [Float], steps: Int) -> [Float] {
        precondition(steps >= 2, "a latent path needs at least 2 steps, got \(steps)")
        return (0..<steps).flatMap { point(from: a, to: b, at: Double($0) / Double(steps - 1)) }
    }
}
