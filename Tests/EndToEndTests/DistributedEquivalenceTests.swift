// Data parallelism changes nothing but the speed: one worker through a coordinator trains what
// `agon train` trains, bit for bit, and N workers with batch B train what one with N·B does.
import AgonNN
import AgonTensor
import Foundation
import Testing

extension Distributed {
    @Suite("distributed training equals single-process training")
    struct DistributedEquivalenceTests {
        static let steps = 12

        /// Runs `agon arguments… --steps 12 --seed 3 --run-dir DIR` and reads its last checkpoint.
        func checkpoint(_ arguments: [String]) throws -> SafeTensors {
            try checkpointAndLog(arguments).checkpoint
        }

        /// `checkpoint(_:)`, with what the processes wrote on standard error.
        func checkpointAndLog(_ arguments: [String]) throws -> (checkpoint: SafeTensors, log: String) {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let result = try AgonProcess.run(arguments + ["--steps", String(Self.steps), "--seed", "3", "--run-dir", dir], timeout: 60)
            try #require(result.status == 0, "agon \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
            return (try SafeTensors.read(path: dir + String(format: "/checkpoints/step-%08d.safetensors", Self.steps)), result.stderr)
        }

        @Test("the shared-memory lane trains what the sockets alone train, bit for bit",
              arguments: [["--batch", "16"], ["--batch", "16", "--update", "alternating"]])
        func sharedMemoryIsTheSocket(flags: [String]) throws {
            let shared = try checkpointAndLog(["run", "--workers", "2"] + flags)
            let socket = try checkpointAndLog(["run", "--workers", "2", "--no-shared-memory"] + flags)
            let lanes = shared.log.components(separatedBy: "worker: sharing memory with the coordinator").count - 1
            #expect(lanes == 2, "both workers should have used the lane:\n\(shared.log)")
            #expect(!socket.log.contains("sharing memory"), "--no-shared-memory still used the lane:\n\(socket.log)")
            // Both lanes pipeline each step's pass of D on real data into the wait for G's parameters.
            for log in [shared.log, socket.log] {
                let ahead = try log.matches(of: Regex("ran ahead in ([0-9]+)")).map { Int($0.output[1].substring!)! }
                #expect(ahead.count == 2 && ahead.allSatisfy { $0 > 0 }, "each worker should have run D's real pass ahead:\n\(log)")
            }
            for (name, expected) in socket.checkpoint.tensors {
                let actual = try #require(shared.checkpoint[name], "the shared-memory run's checkpoint lacks \(name)")
                let differing = zip(actual.scalars, expected.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name): \(differing) of \(expected.count) values differ")
            }
        }

        @Test("agon run --workers 1 writes agon train's checkpoint: parameters and Adam's slots bit for bit",
              arguments: [["--batch", "32"], ["--batch", "32", "--update", "alternating"],
                          ["--model", "dcgan", "--width-divisor", "8", "--batch", "8"]])
        func oneWorkerIsTrain(flags: [String]) throws {
            let train = try checkpoint(["train"] + flags)
            let run = try checkpoint(["run", "--workers", "1"] + flags)
            #expect(run.tensors.map(\.name).sorted() == train.tensors.map(\.name).sorted())
            #expect(train.tensors.contains { $0.name.hasPrefix("optimizer/") }, "no optimizer slots in agon train's checkpoint")
            #expect(train.tensors.contains { !$0.name.hasPrefix("optimizer/") }, "no parameters in agon train's checkpoint")
            for (name, expected) in train.tensors {
                let actual = try #require(run[name], "agon run's checkpoint lacks \(name)")
                #expect(actual.shape == expected.shape, "\(name)")
                let differing = zip(actual.scalars, expected.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name): \(differing) of \(expected.count) values differ")
            }
        }

        @Test("2 workers with batch 16 train what 1 worker with batch 32 does, to float rounding")
        func twoHalvesMakeAWhole() throws {
            let one = try checkpoint(["run", "--workers", "1", "--batch", "32"])
            let two = try checkpoint(["run", "--workers", "2", "--batch", "16"])
            let parameters = one.tensors.filter { !$0.name.hasPrefix("optimizer/") }
            #expect(parameters.count == 8, "the MLP GAN has 8 parameter tensors, found \(parameters.map(\.name))")
            for (name, b) in parameters {
                let a = try #require(two[name], "the 2-worker checkpoint lacks \(name)")
                try #require(a.shape == b.shape, "\(name): \(a.shape) vs \(b.shape)")
                let difference = zip(a.scalars, b.scalars).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
                let norm = b.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                #expect(difference <= 1e-5 * norm, "\(name): ‖a − b‖ = \(difference), ‖b‖ = \(norm)")
            }
            // The runs did train: the parameters moved away from the seed's initialisation.
            let initial = try checkpoint(["run", "--workers", "1", "--batch", "32", "--lr", "1e-30"])
            let moved = parameters.contains { name, b in zip(b.scalars, initial[name]!.scalars).contains { $0 != $1 } }
            #expect(moved, "12 steps at lr 1e-4 left every parameter where lr 1e-30 left it")
        }
    }
}
