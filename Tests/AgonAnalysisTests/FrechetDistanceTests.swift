// FrechetDistance against closed forms: zero for a set with itself, diagonal Gaussians, a dense
// covariance against a scaled copy, an exact mean shift, and sampled Gaussians.
import AgonAnalysis
import Testing

@Suite struct FrechetDistanceTests {
    @Test func aSetAgainstItselfIsZero() throws {
        let features = correlatedGaussian(rows: 500, columns: 16, seed: 1)
        let fid = try FrechetDistance.between(features, features)
        #expect(abs(fid) < 1e-9, "FID(X, X) = \(fid)")
    }

    @Test func diagonalGaussiansMatchTheClosedForm() throws {
        // FID = ‖μ₁ − μ₂‖² + Σᵢ (σ₁ᵢ + σ₂ᵢ − 2√(σ₁ᵢσ₂ᵢ)) for diagonal covariances σ.
        let d = 12
        let mu1 = (0..<d).map { Double($0) * 0.3 }, mu2 = (0..<d).map { 1 - Double($0) * 0.1 }
        let s1 = (0..<d).map { 0.5 + Double($0) }, s2 = (0..<d).map { 2 + Double($0 % 3) }
        func diagonal(_ s: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: d * d)
            for i in 0..<d { m[i * d + i] = s[i] }
            return m
        }
        let fid = try FrechetDistance.between(FeatureStatistics(mean: mu1, covariance: diagonal(s1)),
                                              FeatureStatistics(mean: mu2, covariance: diagonal(s2)))
        var expected = 0.0
        for i in 0..<d {
            expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + s1[i] + s2[i] - 2 * (s1[i] * s2[i]).squareRoot()
        }
        #expect(abs(fid - expected) <= 1e-10 * expected, "FID = \(fid), closed form \(expected)")
    }

    @Test func aDenseCovarianceAgainstAScaledCopyMatchesTheClosedForm() throws {
        // Σ₂ = c²Σ₁ ⇒ √(Σ₁Σ₂) = cΣ₁ ⇒ FID = ‖Δμ‖² + (1 − c)² Tr Σ₁, for any SPD Σ₁.
        let (d, c) = (20, 1.7)
        let a = gaussianFeatures(rows: d, columns: d, seed: 11).map(Double.init)
        var sigma = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d {
                for k in 0..<d { sigma[i * d + j] += a[i * d + k] * a[j * d + k] }
            }
            sigma[i * d + i] += 0.1
        }
        let mu1 = [Double](repeating: 0, count: d), mu2 = (0..<d).map { Double($0 % 4) }
        let fid = try FrechetDistance.between(FeatureStatistics(mean: mu1, covariance: sigma),
                                              FeatureStatistics(mean: mu2, covariance: sigma.map { $0 * c * c }))
        let trace = (0..<d).reduce(0.0) { $0 + sigma[$1 * d + $1] }
        let expected = mu2.reduce(0) { $0 + $1 * $1 } + (1 - c) * (1 - c) * trace
        #expect(abs(fid - expected) <= 1e-9 * expected, "FID = \(fid), closed form \(expected)")
    }

    @Test func aMeanShiftAddsItsSquaredLength() throws {
        // The same samples shifted by s in every coordinate: same Σ, so FID = D · s², growing in s.
        let features = correlatedGaussian(rows: 400, columns: 8, seed: 5)
        var previous = -1.0
        for shift: Float in [0, 0.25, 0.5, 1, 2] {
            let fid = try FrechetDistance.between(features, FeatureMatrix(rows: 400, columns: 8, values: features.values.map { $0 + shift }))
            let expected = 8 * Double(shift) * Double(shift)
            #expect(abs(fid - expected) <= 1e-5 * max(1, expected), "shift \(shift): FID = \(fid), expected \(expected)")
            #expect(fid > previous)
            previous = fid
        }
    }

    @Test func sampledGaussiansApproachTheClosedForm() throws {
        // μ₂ − μ₁ = e₁ and σ₁ = 1, σ₂ = (4, 1, 0.25, 1): 1 + (1 + 4 − 4) + (1 + 0.25 − 1) = 2.25.
        let real = diagonalGaussian(rows: 20_000, mean: [0, 0, 0, 0], variance: [1, 1, 1, 1], seed: 21)
        let fake = diagonalGaussian(rows: 20_000, mean: [1, 0, 0, 0], variance: [4, 1, 0.25, 1], seed: 22)
        let fid = try FrechetDistance.between(real, fake)
        #expect(abs(fid - 2.25) < 0.1, "FID of 20,000 samples = \(fid), closed form 2.25")
    }

    @Test func differentDimensionsAreRejected() {
        let error = #expect(throws: AnalysisError.self) {
            try FrechetDistance.between(correlatedGaussian(rows: 10, columns: 3, seed: 1), correlatedGaussian(rows: 10, columns: 4, seed: 2))
        }
        #expect(error?.code == .dimensionMismatch)
    }
}
