// KernelInceptionDistance: one subset of everything against a naive Double MMD², near zero for
// samples of one distribution, clearly positive for shifted ones, reproducible by seed.
import AgonAnalysis
import AgonTensor
import Testing

/// The unbiased MMD² of the full sets with k(x, y) = (x·y/d + 1)³, all in Double.
private func naiveMMD(_ x: FeatureMatrix, _ y: FeatureMatrix) -> Double {
    let d = x.columns
    func kernelMean(_ a: FeatureMatrix, _ b: FeatureMatrix, skipDiagonal: Bool) -> Double {
        var sum = 0.0
        for i in 0..<a.rows {
            for j in 0..<b.rows where !(skipDiagonal && i == j) {
                var dot = 0.0
                for k in 0..<d { dot += Double(a.values[i * d + k]) * Double(b.values[j * d + k]) }
                let t = dot / Double(d) + 1
                sum += t * t * t
            }
        }
        return sum / Double(skipDiagonal ? a.rows * (a.rows - 1) : a.rows * b.rows)
    }
    return kernelMean(x, x, skipDiagonal: true) + kernelMean(y, y, skipDiagonal: true) - 2 * kernelMean(x, y, skipDiagonal: false)
}

@Suite struct KernelInceptionDistanceTests {
    let engine = Engine()

    @Test func oneSubsetOfEverythingIsTheFullSetMMD() throws {
        let real = correlatedGaussian(rows: 300, columns: 10, seed: 1)
        let fake = correlatedGaussian(rows: 300, columns: 10, seed: 2, shift: 0.3, scale: 0.9)
        let kid = try KernelInceptionDistance.between(real, fake, engine: engine, subsets: 1, subsetSize: 300)
        let expected = naiveMMD(real, fake)
        #expect(kid.subsetSize == 300 && kid.standardDeviation == 0)
        #expect(abs(kid.mean - expected) <= 1e-7, "KID = \(kid.mean), naive MMD² = \(expected)")
    }

    @Test func samplesOfOneDistributionScoreNearZeroAndShiftedOnesDoNot() throws {
        let real = correlatedGaussian(rows: 2000, columns: 16, seed: 3)
        let same = correlatedGaussian(rows: 2000, columns: 16, seed: 4)
        let shifted = correlatedGaussian(rows: 2000, columns: 16, seed: 4, shift: 0.5)
        let null = try KernelInceptionDistance.between(real, same, engine: engine, subsets: 20, subsetSize: 500)
        let apart = try KernelInceptionDistance.between(real, shifted, engine: engine, subsets: 20, subsetSize: 500)
        #expect(abs(null.mean) < 0.01 && abs(null.mean) < 3 * null.standardDeviation + 1e-3,
                "KID of one distribution = \(null.mean) ± \(null.standardDeviation)")
        #expect(apart.mean > 0.1 && apart.mean > 10 * apart.standardDeviation,
                "KID of a 0.5 shift = \(apart.mean) ± \(apart.standardDeviation)")
    }

    @Test func theSeedChoosesTheSubsets() throws {
        let real = correlatedGaussian(rows: 400, columns: 6, seed: 5)
        let fake = correlatedGaussian(rows: 350, columns: 6, seed: 6, shift: 0.2)
        let first = try KernelInceptionDistance.between(real, fake, engine: engine, subsets: 5, subsetSize: 100, seed: 9)
        let again = try KernelInceptionDistance.between(real, fake, engine: engine, subsets: 5, subsetSize: 100, seed: 9)
        let other = try KernelInceptionDistance.between(real, fake, engine: engine, subsets: 5, subsetSize: 100, seed: 10)
        #expect(first == again)
        #expect(first.subsetValues != other.subsetValues)
        // The subset size is clamped to the smaller set.
        #expect(try KernelInceptionDistance.between(real, fake, engine: engine, subsets: 1).subsetSize == 350)
    }

    @Test func oneSampleIsTooFew() {
        let error = #expect(throws: AnalysisError.self) {
            try KernelInceptionDistance.between(correlatedGaussian(rows: 1, columns: 4, seed: 1), correlatedGaussian(rows: 9, columns: 4, seed: 2), engine: engine)
        }
        #expect(error?.code == .tooFewSamples)
    }
}
