// Latent paths: both end where they should, the line is straight, the arc keeps unit vectors
// on the sphere at even angles, and the arc falls back to the line where it is undefined.
import AgonTraining
import Foundation
import Testing

private func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
private func unit(_ v: [Float]) -> [Float] { let n = norm(v); return v.map { Float(Double($0) / n) } }
private func angle(_ a: [Float], _ b: [Float]) -> Double {
    acos(min(1, max(-1, zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } / (norm(a) * norm(b)))))
}

@Suite("Latent paths")
struct LatentPathTests {
    let a: [Float] = [0.3, -1.2, 2.0, 0.5, -0.7]
    let b: [Float] = [1.1, 0.4, -0.6, 1.5, 0.2]

    @Test("both paths start at a and end at b", arguments: LatentPath.allCases)
    func ends(path: LatentPath) {
        for (value, expected) in zip(path.point(from: a, to: b, at: 0), a) { #expect(abs(value - expected) < 1e-6) }
        for (value, expected) in zip(path.point(from: a, to: b, at: 1), b) { #expect(abs(value - expected) < 1e-6) }
        #expect(path.points(from: a, to: b, steps: 7).count == 7 * a.count)
    }

    @Test("the straight line's midpoint is the mean")
    func linearMidpoint() {
        let middle = LatentPath.linear.point(from: a, to: b, at: 0.5)
        for i in a.indices { #expect(abs(middle[i] - (a[i] + b[i]) / 2) < 1e-6) }
    }

    @Test("slerp between unit vectors stays on the unit sphere, at evenly spaced angles")
    func sphericalKeepsUnitNorm() {
        let (ua, ub) = (unit(a), unit(b))
        let theta = angle(ua, ub)
        for step in 0...10 {
            let t = Double(step) / 10
            let point = LatentPath.spherical.point(from: ua, to: ub, at: t)
            #expect(abs(norm(point) - 1) < 1e-6, "t = \(t): norm \(norm(point))")
            #expect(abs(angle(ua, point) - t * theta) < 1e-5, "t = \(t)")
        }
        // The straight line between them sags inside the sphere.
        #expect(norm(LatentPath.linear.point(from: ua, to: ub, at: 0.5)) < 0.95)
    }

    @Test("slerp of a vector to itself, or to its opposite, is the straight line")
    func sphericalFallsBack() {
        let same = LatentPath.spherical.point(from: a, to: a, at: 0.3)
        for i in a.indices { #expect(abs(same[i] - a[i]) < 1e-6) }
        let opposite = a.map { -$0 }
        #expect(LatentPath.spherical.point(from: a, to: opposite, at: 0.25) == LatentPath.linear.point(from: a, to: opposite, at: 0.25))
        let nearly = a.enumerated().map { $0.offset == 0 ? $0.element + 1e-7 : $0.element }
        for value in LatentPath.spherical.point(from: a, to: nearly, at: 0.5) { #expect(value.isFinite) }
    }
}
