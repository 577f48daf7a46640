// Bad input, as a user gives it, to the real binary: one `Error:` line naming the input, exit 64
// (with usage) for a mistake on the command line, exit 1 (no usage) for a failure at run time,
// and checks that can be made before training made before the first step.
import AgonNN
import Foundation
import Testing

@Suite("bad input gets one clear line and a non-zero exit")
struct BadInputTests {
    /// Runs `agon arguments…` and checks its answer: `status`, one `Error:` line mentioning
    /// `needle`; beside it only usage lines for a usage error (64), and nothing at all for a
    /// failure at run time (1) unless `alone` is false (child processes may have spoken first).
    @discardableResult
    func expectOneLineError(_ arguments: [String], status: Int32, mentioning needle: String, alone: Bool = true,
                            environment: [String: String]? = nil) throws -> AgonResult {
        let result = try AgonProcess.run(arguments, environment: environment)
        #expect(result.status == status, "exit \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        let errorLines = lines.filter { $0.hasPrefix("Error:") }
        #expect(errorLines.count == (alone ? 1 : max(1, errorLines.count)), "expected one error line, got: \(result.stderr)")
        #expect(errorLines.last?.contains(needle) == true, "error does not mention \(needle): \(result.stderr)")
        if status == 64 {
            let others = lines.filter { !$0.hasPrefix("Error:") && !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") }
            #expect(others.isEmpty, "more than an error and its usage: \(result.stderr)")
        } else {
            #expect(!result.stderr.contains("Usage:"), "usage shown for a failure at run time: \(result.stderr)")
            if alone { #expect(lines.count == 1, "more than one line: \(result.stderr)") }
        }
        return result
    }

    @Test("help is help: printed on standard output, exit 0", arguments: [["--help"], ["run", "--help"], ["help", "worker"], ["keys", "generate", "-h"]])
    func help(arguments: [String]) throws {
        let result = try AgonProcess.run(arguments)
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        #expect(result.stdout.contains("USAGE: agon"), "no usage on standard output: \(result.stdout)")
        #expect(!result.stderr.contains("Error"), "an error for a request of help: \(result.stderr)")
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

    @Test("a wrong flag value", arguments: [["train", "--batch", "0"], ["train", "--model", "nope"], ["train", "--update", "sideways"],
                                            ["worker", "--coordinator", "tcp://127.0.0.1:1", "--connect-timeout", "-1"],
                                            ["worker", "--coordinator", "tcp://127.0.0.1:1", "--join-timeout", "-5"]])
    func wrongFlag(arguments: [String]) throws {
        let result = try AgonProcess.run(arguments)
        #expect(result.status == 64, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("Error:"))
        #expect(!result.stderr.contains("Missing value"), "a negative number read as a flag: \(result.stderr)")
    }

    // MARK: Usage errors found before training (exit 64)

    @Test("a batch larger than the data, for one process or over the workers: usage, before any child starts",
          .enabled(if: haveData), arguments: [
              ["train", "--batch", "100000", "--steps", "2"],
              ["run", "--batch", "40000", "--workers", "2", "--steps", "2"],
              ["coordinator", "--batch", "40000", "--workers", "2", "--steps", "2", "--bind", "tcp://127.0.0.1:*"],
          ])
    func batchLargerThanData(_ arguments: [String]) throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try expectOneLineError(arguments + ["--run-dir", dir + "/run"], status: 64, mentioning: "--batch \(arguments[2])")
        #expect(!FileManager.default.fileExists(atPath: dir + "/run"), "a run folder was made before the batch was refused")
    }

    @Test("a negative number is read as the option's value, and refused by name",
          arguments: [["train", "--batch", "-3"], ["train", "--steps", "-1"], ["run", "--workers", "-2"]])
    func negativeNumber(_ arguments: [String]) throws {
        try expectOneLineError(arguments + ["--run-dir", "/tmp/agon-unused"], status: 64,
                               mentioning: "\(arguments[1]) must be at least 1, got \(arguments[2])")
    }

    @Test("a label with no images is refused by name", .enabled(if: haveData))
    func absentLabel() throws {
        try expectOneLineError(["train", "--classes", "0,12", "--steps", "2", "--run-dir", "/tmp/agon-unused"],
                               status: 64, mentioning: "has label 12")
    }

    @Test("--steps and --epochs exclude each other")
    func stepsAndEpochs() throws {
        try expectOneLineError(["train", "--steps", "10", "--epochs", "3", "--run-dir", "/tmp/agon-unused"],
                               status: 64, mentioning: "--steps 10 and --epochs 3 exclude each other")
    }

    @Test("an endpoint without tcp:// says the form it must have", arguments: [
        ["aggregator", "--bind", "127.0.0.1:5999"], ["coordinator", "--bind", "127.0.0.1:5999"],
        ["coordinator", "--aggregator", "127.0.0.1:5999"], ["worker", "--coordinator", "127.0.0.1:5999"],
        ["worker", "--coordinator", "tcp://127.0.0.1:5999", "--aggregator", "127.0.0.1:5999"],
    ])
    func endpointWithoutScheme(_ arguments: [String]) throws {
        try expectOneLineError(arguments, status: 64, mentioning: "\(arguments[arguments.count - 2]) must be tcp://HOST:PORT")
    }

    // MARK: Failures at run time (exit 1, no usage)

    @Test("an unwritable run folder: one line naming it, not Foundation's dictionary", .enabled(if: haveData))
    func unwritableRunFolder() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let locked = dir + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
        try #require(try Self.makeUnwritable(locked), "cannot make \(locked) unwritable (chattr +i)")
        defer { _ = try? Self.makeWritable(locked) }
        for runDir in [locked, locked + "/run"] {
            let result = try expectOneLineError(["train", "--steps", "2", "--batch", "8", "--run-dir", runDir],
                                                status: 1, mentioning: runDir + ":")
            #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result.stderr)")
        }
    }

    @Test("checkpoints/ that cannot be written fails before the first step, in every role that writes it",
          .enabled(if: haveData), arguments: ["train", "run", "coordinator"])
    func unwritableCheckpoints(_ verb: String) throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A file where the folder belongs stops root too, whom permissions do not.
        FileManager.default.createFile(atPath: dir + "/checkpoints", contents: Data("not a folder".utf8))
        let extra = verb == "coordinator" ? ["--bind", "tcp://127.0.0.1:*"] : []
        let result = try expectOneLineError([verb, "--steps", "3", "--batch", "8", "--run-dir", dir] + extra,
                                            status: 1, mentioning: dir + "/checkpoints")
        #expect(!result.stderr.contains("step 1"), "it trained before failing: \(result.stderr)")
    }

    @Test("an aggregator whose run folder is a file")
    func aggregatorRunFolderIsAFile() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/run", contents: Data())
        try expectOneLineError(["aggregator", "--bind", "tcp://127.0.0.1:*", "--run-dir", dir + "/run"],
                               status: 1, mentioning: dir + "/run")
    }

    @Test("a port in use: one line, exit 1, and no new run.db")
    func aggregatorPortInUse() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try AgonProcess.start(["aggregator", "--bind", "tcp://127.0.0.1:*", "--run-dir", dir + "/first"], name: "aggregator")
        defer { first.stop() }
        try first.waitForLog("listening on", timeout: 30)
        let data = try #require(FileManager.default.contents(atPath: dir + "/first/aggregator.json"))
        let endpoint = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["endpoint"] as? String)
        try expectOneLineError(["aggregator", "--bind", endpoint, "--run-dir", dir + "/second"], status: 1, mentioning: endpoint)
        #expect(!FileManager.default.fileExists(atPath: dir + "/second/run.db"), "run.db made before the bind failed")
    }

    @Test("a file that is not a checkpoint is a failure at run time, not a usage error")
    func notACheckpoint() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafeTensors(metadata: [:], tensors: []).write(to: dir + "/empty.safetensors")
        try expectOneLineError(["eval", "--checkpoint", dir + "/empty.safetensors", "--classifier", dir + "/empty.safetensors"],
                               status: 1, mentioning: dir + "/empty.safetensors")
    }

    @Test("a child that fails makes agon run fail at run time: exit 1, no usage", .enabled(if: haveData))
    func childFailure() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/run.db", contents: Data(repeating: 0x42, count: 4096))
        // The aggregator's own line names the file; agon run's last line says which child failed.
        let result = try expectOneLineError(["run", "--steps", "2", "--batch", "8", "--run-dir", dir], status: 1,
                                            mentioning: "the aggregator exited with status 1", alone: false)
        #expect(result.stderr.contains(dir + "/run.db: "), "\(result.stderr)")
    }

    // MARK: Helpers

    /// Makes `folder` unwritable even for root: `chattr +i` as root, `chmod 555` otherwise.
    static func makeUnwritable(_ folder: String) throws -> Bool {
        guard getuid() == 0 else { return chmod(folder, 0o555) == 0 }
        return try AgonProcess.run(executable: "/usr/bin/chattr", ["+i", folder], timeout: 10).status == 0
    }

    /// Undoes `makeUnwritable`.
    static func makeWritable(_ folder: String) throws -> Bool {
        guard getuid() == 0 else { return chmod(folder, 0o755) == 0 }
        return try AgonProcess.run(executable: "/usr/bin/chattr", ["-i", folder], timeout: 10).status == 0
    }
}

