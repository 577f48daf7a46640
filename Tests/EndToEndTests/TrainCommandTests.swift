// `agon train`, `agon inspect` and `agon bench train` run as a user runs them: the real binary,
// a temporary run folder, checked by what it leaves behind and how it exits.
import AgonNN
import Foundation
import Testing

let fashionMNIST = "/usr/share/datasets/fashion-mnist"
let haveData = FileManager.default.fileExists(atPath: fashionMNIST + "/train-images-idx3-ubyte.gz")

@Suite("agon train, end to end", .enabled(if: haveData, "needs the dataset-fashion-mnist Debian package"))
struct TrainCommandTests {
    @Test("leaves checkpoints, metrics and sample grids, and resumes")
    func trainAndResume() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try AgonProcess.run(["train", "--steps", "30", "--batch", "16", "--sample-every", "10",
                                         "--checkpoint-every", "20", "--run-dir", dir])
        #expect(first.status == 0, "agon train failed: \(first.stderr)")

        let fm = FileManager.default
        let samples = try fm.contentsOfDirectory(atPath: dir + "/samples").sorted()
        #expect(samples == ["step-00000010.png", "step-00000020.png", "step-00000030.png"])
        let png = try #require(fm.contents(atPath: dir + "/samples/step-00000030.png"))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])

        let checkpoints = try fm.contentsOfDirectory(atPath: dir + "/checkpoints").sorted()
        #expect(checkpoints == ["latest.json", "step-00000020.safetensors", "step-00000030.safetensors"])
        let checkpoint = try SafeTensors.read(path: dir + "/checkpoints/step-00000030.safetensors")
        #expect(checkpoint.metadata["step"] == "30")
        #expect(checkpoint["g/0_dense/kernel"]?.shape == [100, 128])
        #expect(checkpoint["d/2_dense/kernel"]?.shape == [128, 1])
        #expect(checkpoint["optimizer/g/0_dense/kernel/m"]?.shape == [100, 128])

        let csv = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first?.hasPrefix("step,g_loss,d_loss,") == true)
        #expect(csv.count == 31)
        #expect(csv.last?.hasPrefix("30,") == true)

        let second = try AgonProcess.run(["train", "--steps", "40", "--batch", "16", "--sample-every", "10",
                                          "--checkpoint-every", "20", "--run-dir", dir])
        #expect(second.status == 0, "resumed agon train failed: \(second.stderr)")
        #expect(second.stderr.contains("resuming after step 30"))
        let resumed = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        #expect(resumed.count == 41)
        #expect(resumed.last?.hasPrefix("40,") == true)
    }

    @Test("the same seed gives the same checkpoint, bit for bit; another seed does not")
    func deterministic() throws {
        var files: [Data] = []
        for seed in ["7", "7", "8"] {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let result = try AgonProcess.run(["train", "--model", "dcgan", "--width-divisor", "8", "--steps", "4",
                                              "--batch", "8", "--seed", seed, "--run-dir", dir])
            #expect(result.status == 0, "agon train failed: \(result.stderr)")
            files.append(try #require(FileManager.default.contents(atPath: dir + "/checkpoints/step-00000004.safetensors")))
        }
        #expect(files[0] == files[1])
        #expect(files[0] != files[2])
    }

    @Test("inspect prints every tensor as JSON")
    func inspect() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try AgonProcess.run(["train", "--steps", "2", "--batch", "8", "--run-dir", dir]).status == 0)
        let result = try AgonProcess.run(["inspect", dir + "/checkpoints/step-00000002.safetensors", "--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let tensors = try #require(object["tensors"] as? [String: Any])
        let kernel = try #require(tensors["g/0_dense/kernel"] as? [String: Any])
        #expect(kernel["shape"] as? [Int] == [100, 128])
    }

    @Test("bench train --json prints the documented keys")
    func benchJSON() throws {
        let result = try AgonProcess.run(["bench", "train", "--model", "mlp", "--batch", "32", "--runs", "1",
                                          "--seconds", "0.05", "--json"])
        #expect(result.status == 0, "bench failed: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["model"] as? String == "mlp")
        #expect(object["batch"] as? Int == 32)
        #expect(object["threads"] as? Int == 1)
        for key in ["steps_per_s", "samples_per_s", "peak_rss_mb"] {
            #expect((object[key] as? Double ?? 0) > 0, "\(key) missing or not positive")
        }
    }
}

@Suite("bad input gets one clear line and a non-zero exit")
struct BadInputTests {
    func expectOneLineError(_ arguments: [String], status: Int32, mentioning needle: String) throws {
        let result = try AgonProcess.run(arguments)
        #expect(result.status == status, "exit \(result.status): \(result.stderr)")
        let errorLines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errorLines.count == 1, "expected one error line, got: \(result.stderr)")
        #expect(errorLines.first?.contains(needle) == true, "error does not mention \(needle): \(result.stderr)")
    }

    @Test("a missing data folder")
    func missingData() throws {
        try expectOneLineError(["train", "--data", "/nonexistent-agon-data", "--steps", "1", "--run-dir", "/tmp/agon-unused"],
                               status: 1, mentioning: "/nonexistent-agon-data/train-images-idx3-ubyte")
    }

    @Test("a truncated gzip file", .enabled(if: haveData))
    func truncatedData() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let images = try #require(FileManager.default.contents(atPath: fashionMNIST + "/train-images-idx3-ubyte.gz"))
        FileManager.default.createFile(atPath: dir + "/train-images-idx3-ubyte.gz", contents: images.prefix(5000))
        try FileManager.default.copyItem(atPath: fashionMNIST + "/train-labels-idx1-ubyte.gz", toPath: dir + "/train-labels-idx1-ubyte.gz")
        try expectOneLineError(["train", "--data", dir, "--steps", "1", "--run-dir", dir + "/run"],
                               status: 1, mentioning: "train-images-idx3-ubyte.gz")
    }

    @Test("a corrupt checkpoint")
    func corruptCheckpoint() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/bad.safetensors", contents: Data(repeating: 0xFF, count: 64))
        try expectOneLineError(["inspect", dir + "/bad.safetensors"], status: 1, mentioning: "bad.safetensors")
    }

    @Test("a wrong flag value", arguments: [["train", "--batch", "0"], ["train", "--model", "nope"], ["train", "--update", "sideways"]])
    func wrongFlag(arguments: [String]) throws {
        let result = try AgonProcess.run(arguments)
        #expect(result.status == 64, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("Error:"))
    }
}
