// `agon eval` as a user runs it: a checkpoint from `agon train`, the committed classifier, the
// metrics as JSON, and the features it used written for anyone to recompute them.
import AgonNN
import Foundation
import Testing

@Suite("agon eval, end to end", .enabled(if: haveData, "needs the dataset-fashion-mnist Debian package"))
struct EvalCommandTests {
    static let classifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/fashion-mnist-classifier.safetensors").path

    @Test("metrics of a checkpoint as JSON, and the features behind them")
    func evaluatesACheckpoint() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try AgonProcess.run(["train", "--steps", "20", "--batch", "32", "--run-dir", dir]).status == 0)
        let result = try AgonProcess.run(["eval", "--checkpoint", dir + "/checkpoints/step-00000020.safetensors",
                                          "--classifier", Self.classifier, "--samples", "200",
                                          "--features-out", dir + "/features.safetensors", "--json"])
        #expect(result.status == 0, "agon eval failed: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        for key in ["fid", "kid", "precision", "recall", "density", "coverage", "inception_score", "class_entropy"] {
            let value = try #require(object[key] as? Double, "no \(key) in \(result.stdout)")
            #expect(value.isFinite)
        }
        #expect((object["fid"] as? Double ?? 0) > 0)
        #expect((object["class_counts"] as? [Int])?.reduce(0, +) == 200)
        let features = try SafeTensors.read(path: dir + "/features.safetensors")
        #expect(features["real"]?.shape == [200, 128])
        #expect(features["fake"]?.shape == [200, 128])
    }

    @Test("a file that is not a checkpoint gets one error line")
    func rejectsANonCheckpoint() throws {
        let result = try AgonProcess.run(["eval", "--checkpoint", Self.classifier, "--classifier", Self.classifier, "--samples", "20"])
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count == 1, "\(result.stderr)")
    }

    @Test("the shipped classifier is found from any folder; AGON_HOME names where else to look")
    func findsTheClassifierFromElsewhere() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try AgonProcess.run(["train", "--steps", "2", "--batch", "8", "--run-dir", dir]).status == 0)
        let checkpoint = dir + "/checkpoints/step-00000002.safetensors"
        var environment = ProcessInfo.processInfo.environment
        environment["AGON_HOME"] = nil
        let found = try AgonProcess.run(["eval", "--checkpoint", checkpoint, "--samples", "10", "--json"],
                                        currentDirectory: dir, environment: environment)
        #expect(found.status == 0, "agon eval from \(dir) failed: \(found.stderr)")

        environment["AGON_HOME"] = dir
        let missing = try AgonProcess.run(["eval", "--checkpoint", checkpoint, "--samples", "10"],
                                          currentDirectory: dir, environment: environment)
        #expect(missing.status == 1, "exit \(missing.status): \(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains(dir + "/models/fashion-mnist-classifier.safetensors"), "\(missing.stderr)")
    }
}
