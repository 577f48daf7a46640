// Prints how long each metric takes on 10,000 × 128 features with KID's 100 subsets (in a debug
// build 2,000 × 128 and 10 subsets, where unoptimised loops take ~30× longer). Asserts nothing.
import AgonAnalysis
import AgonTensor
import Testing

@Suite struct TimingTests {
    @Test func printTimings() throws {
        #if DEBUG
        let (n, subsets, build) = (2_000, 10, "debug")
        #else
        let (n, subsets, build) = (10_000, 100, "release")
        #endif
        let d = 128
        let real = FeatureMatrix(rows: n, columns: d, values: gaussianFeatures(rows: n, columns: d, seed: 1))
        let fake = FeatureMatrix(rows: n, columns: d, values: gaussianFeatures(rows: n, columns: d, seed: 2).map { 0.9 * $0 + 0.1 })
        let engine = Engine()
        let clock = ContinuousClock()
        var statistics: FeatureStatistics?
        let statisticsTime = try clock.measure { statistics = try FeatureStatistics(real) }
        var fid = 0.0
        let fidTime = try clock.measure { fid = try FrechetDistance.between(real, fake) }
        var kid: KernelInceptionDistance?
        let kidTime = try clock.measure { kid = try KernelInceptionDistance.between(real, fake, engine: engine, subsets: subsets) }
        var prdc: PrecisionRecall?
        let prdcTime = try clock.measure { prdc = try PrecisionRecall.between(real, fake, engine: engine) }
        print("timing (\(build), \(n) × \(d) per side, one thread):")
        print("  statistics \(statisticsTime) (trace \(statistics!.totalVariance))")
        print("  FID (both statistics + 2 dsyevd) \(fidTime): \(fid)")
        print("  KID (\(subsets) subsets of \(kid!.subsetSize)) \(kidTime): \(kid!.mean) ± \(kid!.standardDeviation)")
        print("  precision/recall/density/coverage \(prdcTime): \(prdc!)")
    }
}
