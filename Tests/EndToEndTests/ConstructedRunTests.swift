// The flags that construct pathological runs for the health alarms, run as the alarm tests run
// them: --inject-nan-at puts NaN in that step's metrics, --classes shrinks the data set the
// coordinator counts, and bad values give one clear line.
import Foundation
import Testing

@Suite("flags for constructed runs, end to end", .enabled(if: haveData, "needs the dataset-fashion-mnist Debian package"))
struct ConstructedRunTests {
    @Test("agon train --inject-nan-at 3: step 3's g_loss is NaN, steps 1 and 2 are finite, and training stops")
    func injectedNaNInTrain() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try AgonProcess.run(["train", "--steps", "10", "--batch", "16", "--inject-nan-at", "3", "--run-dir", dir])
        #expect(result.status != 0)
        #expect(result.stderr.contains("step 3: losses are not finite"), "\(result.stderr)")
        let rows = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",").map(String.init) }
        #expect(rows.map { $0[0] } == ["1", "2", "3"])
        #expect(rows.prefix(2).allSatisfy { Float($0[1])?.isFinite == true })
        #expect(Float(rows[2][1])?.isNaN == true, "g_loss of step 3 is \(rows[2][1])")
    }

    @Test("agon coordinator --classes 0,3 counts only those 12,000 images in its epoch")
    func classesShrinkTheEpoch() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (coordinator, _) = try DistributedHarness.startCoordinator(runDirectory: dir, ["--workers", "2", "--batch", "100",
                                                                                            "--classes", "0,3"])
        defer { coordinator.stop() }
        // Fashion-MNIST has 6,000 training images a class: 12,000 / (2 × 100) = 60 steps.
        #expect(coordinator.stderr.contains("waiting for 2 worker(s); 60 steps"), "\(coordinator.stderr)")
    }

    @Test("bad values of the new flags: exit 64 with one Error line", arguments: [
        ["--classes", "0,x"], ["--classes", "1,1"], ["--classes", "42"], ["--d-lr", "0"], ["--inject-nan-at", "0"],
    ])
    func badValues(_ flags: [String]) throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try AgonProcess.run(["train", "--steps", "2", "--batch", "16", "--run-dir", dir] + flags)
        #expect(result.status == 64, "exit \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(!result.stderr.contains("Unknown option"), "\(result.stderr)")
    }
}
