// PrecisionRecall: exact agreement with a naive Double brute force (duplicates included), the
// identical-set and mode-collapse cases, and density and coverage for one distribution.
import AgonAnalysis
import AgonTensor
import Testing

/// Precision, recall, density, coverage by the definitions, with Double distances throughout.
private func naivePRDC(_ real: FeatureMatrix, _ fake: FeatureMatrix, k: Int = 3, densityK: Int = 5) -> [Double] {
    let d = real.columns
    func distance(_ a: FeatureMatrix, _ i: Int, _ b: FeatureMatrix, _ j: Int) -> Double {
        var sum = 0.0
        for c in 0..<d {
            let difference = Double(a.values[i * d + c]) - Double(b.values[j * d + c])
            sum += difference * difference
        }
        return sum
    }
    func radius(_ set: FeatureMatrix, _ i: Int, _ k: Int) -> Double {
        (0..<set.rows).filter { $0 != i }.map { distance(set, i, set, $0) }.sorted()[k - 1]
    }
    let realK = (0..<real.rows).map { radius(real, $0, k) }
    let realDensityK = (0..<real.rows).map { radius(real, $0, densityK) }
    let fakeK = (0..<fake.rows).map { radius(fake, $0, k) }
    var precise = 0, recalled = 0, inside = 0, covered = 0
    for j in 0..<fake.rows where (0..<real.rows).contains(where: { distance(real, $0, fake, j) <= realK[$0] }) { precise += 1 }
    for i in 0..<real.rows where (0..<fake.rows).contains(where: { distance(real, i, fake, $0) <= fakeK[$0] }) { recalled += 1 }
    for i in 0..<real.rows {
        let count = (0..<fake.rows).count(where: { distance(real, i, fake, $0) <= realDensityK[i] })
        inside += count
        if count > 0 { covered += 1 }
    }
    let (n, m) = (Double(real.rows), Double(fake.rows))
    return [Double(precise) / m, Double(recalled) / n, Double(inside) / (Double(densityK) * m), Double(covered) / n]
}

@Suite struct PrecisionRecallTests {
    let engine = Engine()

    @Test func countsEqualANaiveDoubleBruteForce() throws {
        // 300 rows: two blocks of 128 and a partial one. Some fakes are copies of real points
        // and of each other, so distances tie exactly with radii and some radii are 0.
        let real = correlatedGaussian(rows: 300, columns: 8, seed: 1)
        var fakeValues = correlatedGaussian(rows: 250, columns: 8, seed: 2, shift: 0.3).values
        for r in 0..<20 { fakeValues.replaceSubrange(r * 8 ..< r * 8 + 8, with: real.row(r * 7)) }
        for r in 20..<26 { fakeValues.replaceSubrange(r * 8 ..< r * 8 + 8, with: fakeValues[200 * 8 ..< 201 * 8]) }
        let fake = FeatureMatrix(rows: 250, columns: 8, values: fakeValues)
        let metrics = try PrecisionRecall.between(real, fake, engine: engine)
        let expected = naivePRDC(real, fake)
        #expect([metrics.precision, metrics.recall, metrics.density, metrics.coverage] == expected,
                "Swift \(metrics), naive \(expected)")
    }

    @Test func aSetAgainstItselfIsPerfect() throws {
        let features = correlatedGaussian(rows: 500, columns: 12, seed: 3)
        let metrics = try PrecisionRecall.between(features, features, engine: engine)
        #expect(metrics.precision == 1 && metrics.recall == 1 && metrics.coverage == 1, "\(metrics)")
    }

    @Test func modeCollapseKeepsPrecisionAndLosesRecall() throws {
        // Real: four clusters; fake: one of them. Then the roles swapped.
        let real = clusteredFeatures(clusters: [0, 1, 2, 3], perCluster: 300, columns: 6, seed: 4)
        let collapsed = clusteredFeatures(clusters: [0], perCluster: 300, columns: 6, seed: 5)
        let collapse = try PrecisionRecall.between(real, collapsed, engine: engine)
        #expect(collapse.precision > 0.9 && collapse.recall < 0.3, "mode collapse: \(collapse)")
        #expect(collapse.coverage < 0.3, "mode collapse: \(collapse)")
        let spread = try PrecisionRecall.between(collapsed, real, engine: engine)
        #expect(spread.precision < 0.3 && spread.recall > 0.9, "fakes beyond the real support: \(spread)")
    }

    @Test func oneDistributionHasDensityNearOneAndCoverageBelowOne() throws {
        let real = correlatedGaussian(rows: 2000, columns: 8, seed: 6)
        let fake = correlatedGaussian(rows: 2000, columns: 8, seed: 7)
        let metrics = try PrecisionRecall.between(real, fake, engine: engine)
        #expect(abs(metrics.density - 1) < 0.15, "density \(metrics.density)")
        #expect(metrics.coverage > 0.9 && metrics.coverage <= 1, "coverage \(metrics.coverage)")
        #expect(metrics.precision > 0.6 && metrics.recall > 0.6, "\(metrics)")
    }

    @Test func aSetNoLargerThanKIsTooSmall() {
        let error = #expect(throws: AnalysisError.self) {
            try PrecisionRecall.between(correlatedGaussian(rows: 5, columns: 3, seed: 1), correlatedGaussian(rows: 50, columns: 3, seed: 2), engine: engine)
        }
        #expect(error?.code == .tooFewSamples)
    }
}
