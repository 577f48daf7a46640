// CounterRandom: draws are pure functions of (seed, stream, counters), normal draws have the
// right moments, rows are prefix-stable, and permutations are permutations.
import AgonTensor
import Testing

private func normals(_ random: CounterRandom, count: Int, _ a: UInt32, _ b: UInt32,
                     stream: CounterRandom.Stream = .latent) -> [Float] {
    let t = Tensor(zeros: [count])
    random.fillNormal(t.pointer, count: count, stream: stream, a, b)
    return t.scalars
}

private func uniforms(_ random: CounterRandom, count: Int, low: Float, high: Float, _ a: UInt32, _ b: UInt32) -> [Float] {
    let t = Tensor(zeros: [count])
    random.fillUniform(t.pointer, count: count, low: low, high: high, stream: .initializer, a, b)
    return t.scalars
}

@Suite struct CounterRandomTests {
    @Test func sameCountersGiveTheSameDraws() {
        let random = CounterRandom(seed: 42)
        #expect(random.block(.latent, 1, 2, 3) == CounterRandom(seed: 42).block(.latent, 1, 2, 3))
        #expect(normals(random, count: 50, 7, 9) == normals(CounterRandom(seed: 42), count: 50, 7, 9))
        #expect(uniforms(random, count: 50, low: -1, high: 1, 7, 9) == uniforms(random, count: 50, low: -1, high: 1, 7, 9))
    }

    @Test func anyChangedInputChangesTheDraws() {
        let random = CounterRandom(seed: 42)
        let base = random.block(.latent, 1, 2, 3, 4)
        #expect(CounterRandom(seed: 43).block(.latent, 1, 2, 3, 4) != base)
        #expect(CounterRandom(seed: 42 | 1 << 40).block(.latent, 1, 2, 3, 4) != base, "the seed's high word counts")
        #expect(random.block(.dropout, 1, 2, 3, 4) != base)
        #expect(random.block(.latent, 0, 2, 3, 4) != base)
        #expect(random.block(.latent, 1, 0, 3, 4) != base)
        #expect(random.block(.latent, 1, 2, 0, 4) != base)
        #expect(random.block(.latent, 1, 2, 3, 0) != base)
        #expect(normals(random, count: 16, 1, 2) != normals(random, count: 16, 1, 3))
        #expect(normals(random, count: 16, 1, 2) != normals(random, count: 16, 2, 2))
        #expect(normals(random, count: 16, 1, 2) != normals(random, count: 16, 1, 2, stream: .fixedNoise))
    }

    @Test func normalDrawsHaveMeanZeroAndUnitDeviation() {
        let draws = normals(CounterRandom(seed: 2024), count: 100_000, 3, 0)
        let n = Double(draws.count)
        let mean = draws.reduce(0.0) { $0 + Double($1) } / n
        let variance = draws.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        let withinOne = Double(draws.filter { abs($0) < 1 }.count) / n
        // Standard errors over 100k draws: 0.0032 for the mean, 0.0022 for σ, 0.0015 for the 1σ mass.
        #expect(abs(mean) < 0.015, "mean \(mean)")
        #expect(abs(variance.squareRoot() - 1) < 0.01, "standard deviation \(variance.squareRoot())")
        #expect(abs(withinOne - 0.6827) < 0.008, "mass within 1σ \(withinOne)")
        #expect(draws.allSatisfy { $0.isFinite })
    }

    @Test(arguments: [1, 3, 4, 5, 8, 13])
    func aRowPrefixIsTheStartOfALongerRow(count: Int) {
        let random = CounterRandom(seed: 5)
        #expect(normals(random, count: count, 11, 12) == Array(normals(random, count: 29, 11, 12).prefix(count)))
        #expect(uniforms(random, count: count, low: 2, high: 3, 11, 12)
                == Array(uniforms(random, count: 29, low: 2, high: 3, 11, 12).prefix(count)))
    }

    @Test func uniformDrawsStayInTheirInterval() {
        let draws = uniforms(CounterRandom(seed: 6), count: 10_000, low: -0.25, high: 0.75, 1, 1)
        #expect(draws.allSatisfy { $0 >= -0.25 && $0 < 0.75 })
        let mean = draws.reduce(0.0) { $0 + Double($1) } / Double(draws.count)
        #expect(abs(mean - 0.25) < 0.01, "mean \(mean)")
    }

    @Test func unitIsInsideTheOpenInterval() {
        // The documented interval is (0, 1), so fillUniform's [low, high). The largest word must
        // stay below 1: (2²⁴ − 1) + 0.5 is not a Float32, and rounding it up would give exactly 1.
        #expect(CounterRandom.unit(0) > 0)
        #expect(CounterRandom.unit(.max) < 1, "unit(UInt32.max) = \(CounterRandom.unit(.max))")
    }

    @Test(arguments: [0, 1, 2, 10, 1000])
    func permutationIsAPermutation(n: Int) {
        let order = CounterRandom(seed: 8).permutation(n, stream: .shuffle, 3)
        #expect(order.sorted() == Array(0..<n))
        #expect(order == CounterRandom(seed: 8).permutation(n, stream: .shuffle, 3))
    }

    @Test func permutationDiffersByCounterAndSeed() {
        let random = CounterRandom(seed: 8)
        let first = random.permutation(100, stream: .shuffle, 0)
        #expect(first != Array(0..<100))
        #expect(random.permutation(100, stream: .shuffle, 1) != first)
        #expect(CounterRandom(seed: 9).permutation(100, stream: .shuffle, 0) != first)
    }
}
