// Trustworthiness against a plain brute-force reading of its definition, and against
// scikit-learn's `trustworthiness` itself through the python in AGON_PYTHON.
import AgonAnalysis
import Foundation
import Testing

private let python = ProcessInfo.processInfo.environment["AGON_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

/// The definition read literally: full sorts of every row, ranks from 1.
private func bruteForce(_ x: FeatureMatrix, _ y: FeatureMatrix, k: Int) -> Double {
    let n = x.rows
    func distance(_ m: FeatureMatrix, _ i: Int, _ j: Int) -> Double {
        (0..<m.columns).reduce(0) { $0 + pow(Double(m.values[i * m.columns + $1]) - Double(m.values[j * m.columns + $1]), 2) }
    }
    var t = 0.0
    for i in 0..<n {
        let others = (0..<n).filter { $0 != i }
        let originalOrder = others.sorted { (distance(x, i, $0), $0) < (distance(x, i, $1), $1) }
        let embedded = others.sorted { (distance(y, i, $0), $0) < (distance(y, i, $1), $1) }.prefix(k)
        for j in embedded { t += Double(max(0, originalOrder.firstIndex(of: j)! + 1 - k)) }
    }
    return 1 - t * 2 / (Double(n) * Double(k) * (2 * Double(n) - 3 * Double(k) - 1))
}

/// A random 60 × 8 set and a noisy random projection of it to 2-D.
private func randomCase() -> (FeatureMatrix, FeatureMatrix) {
    let (n, d) = (60, 8)
    let x = FeatureMatrix(rows: n, columns: d, values: gaussianFeatures(rows: n, columns: d, seed: 77))
    let noise = gaussianFeatures(rows: n, columns: 2, seed: 78)
    var y = [Float](repeating: 0, count: n * 2)
    for i in 0..<n {
        y[i * 2] = x.values[i * d] + 0.5 * x.values[i * d + 2] + 0.3 * noise[i * 2]
        y[i * 2 + 1] = x.values[i * d + 1] - 0.4 * x.values[i * d + 3] + 0.3 * noise[i * 2 + 1]
    }
    return (x, FeatureMatrix(rows: n, columns: 2, values: y))
}

@Suite("Trustworthiness")
struct TrustworthinessTests {
    @Test("an embedding that keeps every distance is fully trustworthy")
    func isometryScoresOne() throws {
        let x = FeatureMatrix(rows: 40, columns: 4, values: gaussianFeatures(rows: 40, columns: 4, seed: 3))
        #expect(try Trustworthiness.between(x, x, neighbors: 5) == 1)
        let flipped = FeatureMatrix(rows: 40, columns: 4, values: x.values.map { -$0 + 7 })
        #expect(try Trustworthiness.between(x, flipped, neighbors: 5) == 1)
    }

    @Test("matches the definition computed by brute force", arguments: [1, 3, 5, 12])
    func matchesBruteForce(k: Int) throws {
        let (x, y) = randomCase()
        let value = try Trustworthiness.between(x, y, neighbors: k)
        #expect(abs(value - bruteForce(x, y, k: k)) < 1e-12)
        #expect(value < 1 && value > 0.5)
    }

    @Test("k must be below half the points, and the point counts must agree")
    func rejectsBadInput() {
        let x = FeatureMatrix(rows: 10, columns: 2, values: gaussianFeatures(rows: 10, columns: 2, seed: 1))
        #expect { try Trustworthiness.between(x, x, neighbors: 5) } throws: { ($0 as? AnalysisError)?.code == .tooFewSamples }
        let y = FeatureMatrix(rows: 9, columns: 2, values: Array(x.values.prefix(18)))
        #expect { try Trustworthiness.between(x, y, neighbors: 2) } throws: { ($0 as? AnalysisError)?.code == .dimensionMismatch }
    }

    @Test("matches scikit-learn's sklearn.manifold.trustworthiness",
          .enabled(if: python != nil, "AGON_PYTHON is not set: point it at a python with numpy and scikit-learn (scripts/test.sh does)"))
    func matchesScikitLearn() throws {
        let (x, y) = randomCase()
        func rows(_ m: FeatureMatrix) -> [[Double]] {
            (0..<m.rows).map { i in (0..<m.columns).map { Double(m.values[i * m.columns + $0]) } }
        }
        let input = try JSONSerialization.data(withJSONObject: ["x": rows(x), "y": rows(y), "k": [1, 3, 5, 12]])
        let script = """
        import json, sys
        import numpy as np
        from sklearn.manifold import trustworthiness
        data = json.load(sys.stdin)
        x, y = np.array(data["x"]), np.array(data["y"])
        print(json.dumps({str(k): trustworthiness(x, y, n_neighbors=k) for k in data["k"]}))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "scikit-learn failed: \(message)")
        let expected = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Double])
        for k in [1, 3, 5, 12] {
            let want = try #require(expected[String(k)])
            let value = try Trustworthiness.between(x, y, neighbors: k)
            print("trustworthiness k = \(k): Agon \(value), scikit-learn \(want)")
            #expect(abs(value - want) < 1e-12, "k = \(k): Agon \(value), scikit-learn \(want)")
        }
    }
}
