// Every metric against scripts/check_metrics.py, an independent numpy/scipy implementation
// (pytorch-fid's FID, full-set MMD², brute-force PRDC), run through the python in AGON_PYTHON.
import AgonAnalysis
import AgonNN
import AgonTensor
import Foundation
import Testing

private let python = ProcessInfo.processInfo.environment["AGON_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

@Suite("AgonAnalysis against numpy/scipy",
       .enabled(if: python != nil, "AGON_PYTHON is not set: point it at a python with numpy, scipy and safetensors (scripts/test.sh does)"))
struct ReferenceComparisonTests {
    let engine = Engine()

    /// Writes `real` and `fake` to a temporary safetensors file, runs the script on it, and
    /// returns its JSON.
    private func reference(_ real: FeatureMatrix, _ fake: FeatureMatrix) throws -> [String: Double] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agon-analysis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("features.safetensors").path
        try SafeTensors(metadata: ["purpose": "check_metrics"], tensors: [("real", real.tensor), ("fake", fake.tensor)]).write(to: path)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/check_metrics.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = [script, path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "check_metrics.py failed: \(message)")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return json.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    @Test(arguments: [(shift: Float(0.4), scale: Float(0.8)), (shift: 0, scale: 1)])
    func everyMetricMatchesTheReference(shift: Float, scale: Float) throws {
        let (n, d) = (600, 24)
        let real = correlatedGaussian(rows: n, columns: d, seed: 31)
        var fakeValues = correlatedGaussian(rows: n, columns: d, seed: 32, shift: shift, scale: scale).values
        // Exact copies of real points and of other fakes: ties on ball boundaries, zero radii.
        for r in 0..<30 { fakeValues.replaceSubrange(r * d ..< (r + 1) * d, with: real.row(r * 13)) }
        for r in 30..<40 { fakeValues.replaceSubrange(r * d ..< (r + 1) * d, with: fakeValues[500 * d ..< 501 * d]) }
        let fake = FeatureMatrix(rows: n, columns: d, values: fakeValues)

        let expected = try reference(real, fake)
        let fid = try FrechetDistance.between(real, fake)
        let kid = try KernelInceptionDistance.between(real, fake, engine: engine, subsets: 1, subsetSize: n)
        let prdc = try PrecisionRecall.between(real, fake, engine: engine)
        let actual = ["fid": fid, "kid_mean": kid.mean, "precision": prdc.precision, "recall": prdc.recall,
                      "density": prdc.density, "coverage": prdc.coverage]
        print("check_metrics.py (shift \(shift), scale \(scale)): \(expected.filter { actual[$0.key] != nil }.sorted { $0.key < $1.key })")
        print("AgonAnalysis     (shift \(shift), scale \(scale)): \(actual.sorted { $0.key < $1.key })")
        for (name, value) in actual {
            let want = try #require(expected[name], "check_metrics.py printed no \(name)")
            let tolerance = name == "fid" ? 1e-3 * abs(want) : 1e-6
            #expect(abs(value - want) <= tolerance, "\(name): Swift \(value), numpy \(want)")
        }
    }
}
