// FeatureStatistics: the blocked Double mean and covariance against a naive two-pass loop, and
// the errors for too few samples and non-finite values.
import AgonAnalysis
import Testing

@Suite struct FeatureStatisticsTests {
    @Test func meanAndCovarianceMatchANaiveLoop() throws {
        // 150 rows: two full blocks of 64 and a partial one; an offset of 100 tests the centring.
        let (n, d) = (150, 7)
        let features = correlatedGaussian(rows: n, columns: d, seed: 3, shift: 100)
        let statistics = try FeatureStatistics(features)
        let x = features.values.map(Double.init)
        for j in 0..<d {
            let mean = (0..<n).reduce(0.0) { $0 + x[$1 * d + j] } / Double(n)
            #expect(abs(statistics.mean[j] - mean) <= 1e-12 * abs(mean), "mean[\(j)] = \(statistics.mean[j]), expected \(mean)")
        }
        for i in 0..<d {
            for j in 0..<d {
                var sum = 0.0
                for r in 0..<n { sum += (x[r * d + i] - statistics.mean[i]) * (x[r * d + j] - statistics.mean[j]) }
                let expected = sum / Double(n - 1)
                let actual = statistics.covariance[i * d + j]
                #expect(abs(actual - expected) <= 1e-10 * max(1, abs(expected)), "Σ[\(i), \(j)] = \(actual), expected \(expected)")
            }
        }
        #expect(statistics.count == n && statistics.dimension == d)
    }

    @Test func oneSampleIsTooFew() {
        let error = #expect(throws: AnalysisError.self) { try FeatureStatistics(FeatureMatrix(rows: 1, columns: 3, values: [1, 2, 3])) }
        #expect(error?.code == .tooFewSamples)
    }

    @Test func nonFiniteValuesAreRejected() {
        let error = #expect(throws: AnalysisError.self) {
            try FeatureStatistics(FeatureMatrix(rows: 2, columns: 2, values: [1, .nan, 3, 4]))
        }
        #expect(error?.code == .nonFiniteValue)
        #expect(error?.message.contains("row 0, column 1") == true)
    }
}
