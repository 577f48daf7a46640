// t-SNE: its gradients against finite differences and against each other, the calibration of
// P, determinism, and neighbourhoods kept on clusters and on real Fashion-MNIST features.
@testable import AgonAnalysis
import AgonTensor
import AgonTraining
import CAgonKernels
import Foundation
import Testing

/// KL(P ‖ Q) of 2-D points `y` (interleaved) under a dense joint P, in Double.
private func klDivergence(_ p: [Float], _ y: [Double], count n: Int) -> Double {
    var z = 0.0
    for i in 0..<n { for j in 0..<n where i != j { z += 1 / (1 + squaredDistance(y, i, j)) } }
    var kl = 0.0
    for i in 0..<n {
        for j in 0..<n where i != j && p[i * n + j] > 0 {
            let pij = Double(p[i * n + j]), q = 1 / (1 + squaredDistance(y, i, j)) / z
            kl += pij * log(pij / q)
        }
    }
    return kl
}

private func squaredDistance(_ y: [Double], _ i: Int, _ j: Int) -> Double {
    let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
    return dx * dx + dy * dy
}

/// Small random points and the affinities of random features, for the gradient checks.
private func smallProblem(count n: Int) -> (p: [Float], y: [Double]) {
    let features = FeatureMatrix(rows: n, columns: 6, values: gaussianFeatures(rows: n, columns: 6, seed: 41))
    let p = TSNEAffinities.dense(features, perplexity: 4)
    let y = gaussianFeatures(rows: n, columns: 2, seed: 42).map { Double($0) }
    return (p, y)
}

@Suite("t-SNE")
struct TSNETests {
    @Test("each point's affinities have the perplexity asked for")
    func calibratesPerplexity() {
        // Far-apart distances, and an infinite one (a point's own) that must get p = 0.
        var distances = (0..<50).map { Double($0 * $0) * 3.7 + 500 }
        distances[17] = .infinity
        for perplexity in [2.0, 10, 30] {
            var p = [Double](repeating: 0, count: distances.count)
            _ = agon_tsne_conditional_row(distances, distances.count, perplexity, 1e-6, 200, &p)
            #expect(p[17] == 0)
            let entropy = -p.filter { $0 > 0 }.reduce(0) { $0 + $1 * log($1) }
            #expect(abs(exp(entropy) - perplexity) < 1e-3 * perplexity, "perplexity \(exp(entropy)), asked \(perplexity)")
            #expect(abs(p.reduce(0, +) - 1) < 1e-12)
        }
    }

    @Test("the joint affinities are symmetric and sum to 1, dense and sparse alike")
    func jointAffinities() {
        let features = FeatureMatrix(rows: 120, columns: 5, values: gaussianFeatures(rows: 120, columns: 5, seed: 7))
        let dense = TSNEAffinities.dense(features, perplexity: 10)
        #expect(abs(dense.reduce(0) { $0 + Double($1) } - 1) < 1e-5)
        for i in 0..<120 { for j in 0..<120 { #expect(dense[i * 120 + j] == dense[j * 120 + i]) } }
        let sparse = TSNEAffinities.sparse(features, perplexity: 10)
        #expect(abs(sparse.values.reduce(0, +) - 1) < 1e-9)
        var entries: [Int: Double] = [:]
        for i in 0..<120 {
            for e in sparse.rowStart[i] ..< sparse.rowStart[i + 1] { entries[i * 120 + Int(sparse.columns[e])] = sparse.values[e] }
        }
        for (key, value) in entries { #expect(entries[(key % 120) * 120 + key / 120] == value) }
    }

    @Test("the exact gradient is the derivative of KL(P ‖ Q)")
    func exactGradientMatchesFiniteDifferences() {
        let n = 14
        let (p, y) = smallProblem(count: n)
        var gradient = [Double](repeating: 0, count: 2 * n)
        _ = agon_tsne_exact_gradient(y, n, p, 1, &gradient)
        let h = 1e-6
        for index in 0..<(2 * n) {
            var plus = y, minus = y
            plus[index] += h
            minus[index] -= h
            let numeric = (klDivergence(p, plus, count: n) - klDivergence(p, minus, count: n)) / (2 * h)
            #expect(abs(numeric - gradient[index]) <= 1e-6 + 1e-5 * abs(numeric), "coordinate \(index): numeric \(numeric), kernel \(gradient[index])")
        }
    }

    @Test("Barnes-Hut with θ = 0 and every pair is the exact gradient; θ = 0.5 is close to it")
    func barnesHutMatchesExact() {
        let n = 300
        let (p, _) = smallProblem(count: n)
        // A spread-out layout, as after early exaggeration, with two exact duplicates.
        var y = gaussianFeatures(rows: n, columns: 2, seed: 43).map { 10 * Double($0) }
        y[2 * 7] = y[2 * 3]; y[2 * 7 + 1] = y[2 * 3 + 1]
        var rowStart = [0], columns: [UInt32] = [], values: [Double] = []
        for i in 0..<n {
            for j in 0..<n where j != i { columns.append(UInt32(j)); values.append(Double(p[i * n + j])) }
            rowStart.append(columns.count)
        }
        var exact = [Double](repeating: 0, count: 2 * n), tree = exact, approximate = exact
        let zExact = agon_tsne_exact_gradient(y, n, p, 12, &exact)
        let zTree = agon_tsne_barnes_hut_gradient(y, n, rowStart, columns, values, 12, 0, &tree)
        let zApproximate = agon_tsne_barnes_hut_gradient(y, n, rowStart, columns, values, 12, 0.5, &approximate)
        #expect(abs(zTree - zExact) <= 1e-9 * zExact)
        let norm = exact.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let treeError = zip(exact, tree).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let approximateError = zip(exact, approximate).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        #expect(treeError <= 1e-9 * norm, "θ = 0: ‖error‖ \(treeError), ‖gradient‖ \(norm)")
        // bhtsne's θ = 0.5 (on the half side) errs by a few per cent on this layout.
        print("Barnes-Hut θ = 0.5 on \(n) points: Z off by \(abs(zApproximate - zExact) / zExact), gradient by \(approximateError / norm)")
        #expect(abs(zApproximate - zExact) <= 0.06 * zExact, "θ = 0.5: Z \(zApproximate), exact \(zExact)")
        #expect(approximateError <= 0.03 * norm, "θ = 0.5: ‖error‖ \(approximateError), ‖gradient‖ \(norm)")
    }

    @Test("separated clusters stay separated, and the same seed gives the same picture")
    func clustersAndDeterminism() throws {
        let features = clusteredFeatures(clusters: [0, 1, 2, 3], perCluster: 60, columns: 10, seed: 5)
        let tsne = TSNE(iterations: 500)
        let first = try tsne.embedding(of: features)
        #expect(first.rows == 240 && first.columns == 2)
        #expect(try tsne.embedding(of: features) == first)
        #expect(try TSNE(iterations: 500, seed: 2).embedding(of: features) != first)
        // Every point's 5 nearest in the picture come from its own cluster.
        let points = first.values.map(Double.init)
        var wrong = 0
        for i in 0..<240 {
            let nearest = (0..<240).filter { $0 != i }.sorted { squaredDistance(points, i, $0) < squaredDistance(points, i, $1) }.prefix(5)
            wrong += nearest.filter { $0 / 60 != i / 60 }.count
        }
        #expect(wrong == 0)
        #expect(try Trustworthiness.between(features, first, neighbors: 5) > 0.9)
    }

    @Test("too few points for the perplexity, or a NaN, is a typed error")
    func rejectsBadInput() {
        let few = FeatureMatrix(rows: 20, columns: 3, values: gaussianFeatures(rows: 20, columns: 3, seed: 1))
        #expect { try TSNE().embedding(of: few) } throws: { ($0 as? AnalysisError)?.code == .tooFewSamples }
        var values = gaussianFeatures(rows: 50, columns: 3, seed: 1)
        values[10] = .nan
        #expect { try TSNE(perplexity: 5).embedding(of: FeatureMatrix(rows: 50, columns: 3, values: values)) } throws: {
            ($0 as? AnalysisError)?.code == .nonFiniteValue
        }
    }
}
