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

    @Test("writes run.db as a worker-0 of agon run, which agon plot draws; a resumed run is a new generation and incarnation")
    func runStore() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = ["train", "--batch", "8", "--sample-every", "5", "--checkpoint-every", "5", "--run-dir", dir]
        let first = try AgonProcess.run(train + ["--steps", "5"])
        #expect(first.status == 0, "agon train failed: \(first.stderr)")
        func query(_ sql: String) throws -> String {
            let result = try AgonProcess.run(executable: "/usr/bin/sqlite3", [dir + "/run.db", sql], timeout: 30)
            #expect(result.status == 0, "sqlite3: \(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // The generation's announcement (kind 5), then the identity (kind 3).
        #expect(try query("SELECT group_concat(kind) FROM (SELECT kind FROM events WHERE worker = 'worker-0' ORDER BY seq LIMIT 2)") == "5,3")
        #expect(try query("SELECT rank FROM workers WHERE worker = 'worker-0'") == "0")
        #expect(try query("SELECT group_concat(step) FROM (SELECT step FROM scalars WHERE tag = 'g_loss' ORDER BY step)") == "1,2,3,4,5")
        #expect(try query("SELECT tag, step FROM images") == "samples|5")

        let plot = try AgonProcess.run(["plot", dir])
        #expect(plot.status == 0, "agon plot failed: \(plot.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/report.html"))

        let second = try AgonProcess.run(train + ["--steps", "7", "--lr", "0.0002"])
        #expect(second.status == 0, "resumed agon train failed: \(second.stderr)")
        #expect(second.stderr.contains("agon train: the run goes on with --lr 0.0001 → 0.0002"), "\(second.stderr)")
        // Generation 1: announcement, identity, 5 steps, 1 grid; generation 2 (resumed after
        // step 5): announcement, identity, 2 steps, 1 grid. Each incarnation numbered from 0.
        #expect(try query("""
            SELECT group_concat(n, ' ') FROM (SELECT count(*) || ':' || min(seq) || '-' || max(seq) AS n FROM events
            WHERE worker = 'worker-0' GROUP BY incarnation ORDER BY incarnation)
            """) == "8:0-7 5:0-4")
        #expect(try query("SELECT group_concat(generation || '@' || resumed_from, ' ') FROM generations") == "1@0 2@5")
        #expect(try query("SELECT max(step) FROM scalars WHERE tag = 'g_loss'") == "7")

        // Another model in the same folder is refused in one line, naming the way out; --restart
        // moves the earlier run aside and starts afresh.
        let other = try AgonProcess.run(train + ["--steps", "7", "--model", "seed-mlp"])
        #expect(other.status == 64, "\(other.stderr)")
        #expect(other.stderr.contains("holds a run of other networks (--model mlp → seed-mlp); use --restart"), "\(other.stderr)")
        let fresh = try AgonProcess.run(train + ["--steps", "3", "--model", "seed-mlp", "--restart"])
        #expect(fresh.status == 0, "agon train --restart failed: \(fresh.stderr)")
        #expect(try query("SELECT group_concat(generation || '@' || resumed_from, ' ') FROM generations") == "1@0")
        let aside = try FileManager.default.contentsOfDirectory(atPath: (dir as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix((dir as NSString).lastPathComponent + ".restarted-") }
        #expect(aside.count == 1, "the earlier run's folder: \(aside)")
        for name in aside { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent + "/" + name) }
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
