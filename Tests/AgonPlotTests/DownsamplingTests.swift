// minMaxDownsample: keeps the extremes and single spikes, keeps x order, buckets by x, leaves
// small inputs alone, and reduces a million points quickly.

import AgonPlot
import Foundation
import Testing

/// A fixed-seed noisy series of `count` points at steps 0, 1, 2, …
private func noisy(count: Int, seed: UInt64) -> (x: [Double], y: [Double]) {
    var state = seed
    let y = (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53)
    }
    return ((0..<count).map(Double.init), y)
}

@Suite struct DownsamplingTests {
    @Test func smallInputsAreReturnedUnchanged() {
        let (x, y) = noisy(count: 200, seed: 1)
        let reduced = minMaxDownsample(x: x, y: y, buckets: 100)
        #expect(reduced.x == x && reduced.y == y)
        let empty = minMaxDownsample(x: [], y: [], buckets: 10)
        #expect(empty.x.isEmpty && empty.y.isEmpty)
    }

    @Test func keepsTheGlobalExtremesAndASingleSpikeInOrder() {
        var (x, y) = noisy(count: 1_000_000, seed: 2)
        y[123_457] = 50       // one spike up
        y[876_543] = -50      // one spike down
        let reduced = minMaxDownsample(x: x, y: y, buckets: 2000)
        #expect(reduced.x.count <= 4000)
        #expect(reduced.x.count > 2000)
        #expect(reduced.y.max() == 50 && reduced.y.min() == -50)
        #expect(reduced.y.firstIndex(of: 50).map { reduced.x[$0] } == 123_457)
        #expect(reduced.y.firstIndex(of: -50).map { reduced.x[$0] } == 876_543)
        #expect(zip(reduced.x, reduced.x.dropFirst()).allSatisfy { $0 < $1 })
        // Every kept point is an input point.
        #expect(zip(reduced.x, reduced.y).allSatisfy { y[Int($0.0)] == $0.1 })
    }

    @Test func eachBucketKeepsItsMinimumAndMaximum() {
        // 10 buckets of 10 points; in bucket k the maximum is at 10k + 3, the minimum at 10k + 7.
        let x = (0..<100).map(Double.init)
        let y = x.map { (v: Double) -> Double in
            switch Int(v) % 10 { case 3: return 100 + v; case 7: return -100 - v; default: return v }
        }
        let reduced = minMaxDownsample(x: x, y: y, buckets: 10)
        var expected: [Double] = []
        for bucket in 0..<10 { expected += [Double(bucket * 10 + 3), Double(bucket * 10 + 7)] }
        #expect(reduced.x == expected)
    }

    @Test func bucketsSplitTheXRangeNotTheIndexRange() {
        // 1000 points crowded into [0, 1) and 10 points spread over [10, 100]: the crowd falls in
        // one bucket of ten and keeps two points; each spread point keeps its own.
        let crowd = (0..<1000).map { Double($0) / 1000 }
        let spread = (1...10).map { Double($0) * 10 }
        let x = crowd + spread
        let y = x.map { sin($0 * 7) }
        let reduced = minMaxDownsample(x: x, y: y, buckets: 10)
        #expect(reduced.x.filter { $0 < 1 }.count == 2)
        #expect(reduced.x.filter { $0 >= 10 } == spread)
    }

    @Test func degenerateInputsDoNotCrash() {
        // All at one x: index buckets, which keep the minimum and the maximum.
        let same = minMaxDownsample(x: [Double](repeating: 5, count: 100), y: (0..<100).map(Double.init), buckets: 10)
        #expect(same.x.count == 20 && same.y.first == 0 && same.y.last == 99)
        // NaN values are never picked over numbers.
        var (x, y) = noisy(count: 1000, seed: 3)
        y[0] = .nan
        y[500] = .nan
        let reduced = minMaxDownsample(x: x, y: y, buckets: 10)
        #expect(!reduced.y.contains { $0.isNaN })
        // Out-of-order x gives some result, within the point budget.
        let shuffled = minMaxDownsample(x: x.reversed(), y: y, buckets: 10)
        #expect(shuffled.x.count <= 20)
        // An infinite span falls back to index buckets.
        x[999] = .infinity
        #expect(minMaxDownsample(x: x, y: y, buckets: 10).x.count <= 20)
    }

    @Test func reducesAMillionPointsQuickly() {
        let (x, y) = noisy(count: 1_000_000, seed: 4)
        let clock = ContinuousClock()
        var kept = 0
        let elapsed = clock.measure { kept = minMaxDownsample(x: x, y: y, buckets: 2000).x.count }
        print("minMaxDownsample: 1,000,000 points to \(kept) in \(elapsed) (this build's optimisation level)")
        #expect(kept <= 4000)
    }
}
