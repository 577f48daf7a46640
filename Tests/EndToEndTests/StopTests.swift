// Every stop is bounded and every clean stop checkpoints: SIGINT or SIGTERM of each role, in
// each state of its peers, ends the process within seconds, leaves a checkpoint of the last
// completed step where there is one, and a run resumed from it trains what a run never stopped
// trains, bit for bit.
import AgonNN
import Foundation
import Testing

extension Distributed {
    @Suite("every stop is bounded, and checkpoints its last completed step")
    struct StopTests {
        /// Generous, for a slow machine: the stops themselves take about 2 s at most.
        static let bound = 15.0
        static let training = ["--batch", "8", "--checkpoint-every", "0", "--sample-every", "100000"]
        /// `training`, and the flag that only the coordinator and `agon run` take.
        static let distributed = training + ["--quality-every", "0"]

        /// Sends `signal` to `process`, expects it to exit 130 within `bound`, and prints how long
        /// it took after `what`.
        static func stop(_ process: RunningAgon, with signal: Int32, _ what: String) throws {
            let sent = Date()
            process.send(signal)
            let status = try process.waitForExit(timeout: bound)
            let seconds = Date().timeIntervalSince(sent)
            #expect(status == 130, "\(RunningAgon.tail(process.stderr))")
            #expect(seconds < bound)
            print("\(what): exited in \(String(format: "%.2f", seconds)) s")
        }

        /// The step named by the line "coordinator: stopped after step N; checkpoint …" (or
        /// "agon train: stopped after step N; …") in `log`.
        static func stoppedStep(_ log: String, role: String) throws -> Int {
            let line = try #require(log.split(separator: "\n").first { $0.hasPrefix("\(role): stopped after step ") },
                                    "no stop line:\n\(RunningAgon.tail(log))")
            #expect(line.contains("; checkpoint"), "\(line)")
            return try #require(Int(line.dropFirst("\(role): stopped after step ".count).prefix { $0.isNumber }))
        }

        /// The step `checkpoints/latest.json` in `dir` names, if any, after checking its file exists.
        static func latestCheckpoint(_ dir: String) throws -> Int? {
            guard let data = FileManager.default.contents(atPath: dir + "/checkpoints/latest.json") else { return nil }
            let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let file = try #require(manifest["file"] as? String), step = try #require(manifest["step"] as? Int)
            #expect(FileManager.default.fileExists(atPath: dir + "/checkpoints/" + file), "\(manifest)")
            #expect(file == String(format: "step-%08d.safetensors", step))
            return step
        }

        /// Expects `actual` to hold every tensor of `expected`, bit for bit.
        static func expectSameTensors(_ actual: SafeTensors, _ expected: SafeTensors, _ what: String) throws {
            #expect(actual.tensors.map(\.name).sorted() == expected.tensors.map(\.name).sorted(), "\(what)")
            for (name, tensor) in expected.tensors {
                let other = try #require(actual[name], "\(what): no \(name)")
                let differing = zip(other.scalars, tensor.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(what): \(name): \(differing) of \(tensor.count) values differ")
            }
        }

        @Test("SIGTERM of a coordinator no worker has joined: it exits at once and says there is nothing to checkpoint")
        func coordinatorAlone() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (coordinator, _) = try DistributedHarness.startCoordinator(runDirectory: dir, ["--workers", "2", "--steps", "100"] + Self.distributed)
            defer { coordinator.stop() }
            try Self.stop(coordinator, with: SIGTERM, "coordinator SIGTERM, no worker")
            #expect(try Self.stoppedStep(coordinator.stderr, role: "coordinator") == 0)
            #expect(coordinator.stderr.contains("no step completed"), "\(RunningAgon.tail(coordinator.stderr))")
            #expect(try Self.latestCheckpoint(dir) == nil)
        }

        @Test("SIGINT of a coordinator mid-run with 2 workers: a checkpoint of the step it logged, and a new coordinator resumes from it")
        func coordinatorMidRun() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let arguments = ["--workers", "2", "--steps", "100000", "--seed", "4"] + Self.distributed
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(runDirectory: dir, arguments)
            processes.append(coordinator)
            processes += try (0..<2).map { try DistributedHarness.startWorker(endpoint, name: "worker \($0)") }
            try coordinator.waitForProgress("step ≥ 50", timeout: 60) { $0.step >= 50 }

            try Self.stop(coordinator, with: SIGINT, "coordinator SIGINT mid-run")
            let step = try Self.stoppedStep(coordinator.stderr, role: "coordinator")
            #expect(step >= 50 && step == coordinator.progress.last?.step, "stopped after \(step), last progress \(String(describing: coordinator.progress.last))")
            #expect(try Self.latestCheckpoint(dir) == step)

            let (second, _) = try DistributedHarness.startCoordinator(runDirectory: dir, arguments, name: "second coordinator")
            processes.append(second)
            #expect(second.stderr.contains("coordinator: resuming after step \(step) from "), "\(RunningAgon.tail(second.stderr))")
        }

        @Test("SIGTERM of a worker whose coordinator was killed: it exits within seconds")
        func workerWithoutCoordinator() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(runDirectory: dir, ["--workers", "1", "--steps", "100000"] + Self.distributed)
            processes.append(coordinator)
            let worker = try DistributedHarness.startWorker(endpoint, name: "worker")
            processes.append(worker)
            try coordinator.waitForProgress("step ≥ 10", timeout: 60) { $0.step >= 10 }
            coordinator.send(SIGKILL)
            #expect(try coordinator.waitForExit(timeout: 10) == 128 + SIGKILL)

            try Self.stop(worker, with: SIGTERM, "worker SIGTERM, coordinator gone")
        }

        @Test("SIGTERM of a worker still waiting for its coordinator (none is up): it exits within seconds")
        func waitingWorker() throws {
            // A port nothing listens on: bound and closed at once.
            let port = try LoopbackSocket.unusedPort()
            let worker = try DistributedHarness.startWorker("tcp://127.0.0.1:\(port)", name: "waiting worker")
            defer { worker.stop() }
            try worker.waitForLog("worker: waiting for the coordinator at tcp://127.0.0.1:\(port)", timeout: 30)
            try Self.stop(worker, with: SIGTERM, "waiting worker SIGTERM")
        }

        @Test("SIGINT of agon train: a checkpoint of the last step it completed")
        func trainStops() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let train = try AgonProcess.start(["train", "--steps", "1000000", "--run-dir", dir] + Self.training, name: "agon train")
            defer { train.stop() }
            // metrics.csv gets a row per step: the header and 50 rows.
            try DistributedHarness.waitUntil("50 steps in metrics.csv", timeout: 60) {
                ((try? String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8))?.split(separator: "\n").count ?? 0) > 50
            }
            try Self.stop(train, with: SIGINT, "agon train SIGINT")
            let step = try Self.stoppedStep(train.stderr, role: "agon train")
            let rows = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8).split(separator: "\n")
            #expect(rows.last?.hasPrefix("\(step),") == true, "the last row is \(rows.last ?? "none"), the stop line says \(step)")
            #expect(try Self.latestCheckpoint(dir) == step)
        }

        @Test("a NaN at step 100 stops the run with a checkpoint of step 99, named in the error line, bit for bit a run of 99 steps",
              arguments: [["train"], ["run", "--workers", "2"], ["run", "--workers", "2", "--update", "alternating"]])
        func divergenceCheckpoints(command: [String]) throws {
            let dir = try AgonProcess.temporaryDirectory(), short = try AgonProcess.temporaryDirectory()
            defer { for dir in [dir, short] { try? FileManager.default.removeItem(atPath: dir) } }
            let flags = command.first == "train" ? Self.training : Self.distributed
            let result = try AgonProcess.run(command + ["--steps", "300", "--inject-nan-at", "100", "--run-dir", dir] + flags, timeout: 120)
            #expect(result.status != 0)
            #expect(try Self.latestCheckpoint(dir) == 99, "\(RunningAgon.tail(result.stderr))")
            let error = result.stderr.split(separator: "\n").first { $0.hasPrefix("Error: step 100:") }
            #expect(error?.contains("checkpoints/step-00000099.safetensors") == true, "\(RunningAgon.tail(result.stderr))")
            #expect(!result.stderr.contains("run complete"), "\(RunningAgon.tail(result.stderr))")
            // What step 100 applied before its NaN was seen (D's average) is undone, Adam's slots too.
            let clean = try AgonProcess.run(command + ["--steps", "99", "--run-dir", short] + flags, timeout: 120)
            try #require(clean.status == 0, "\(RunningAgon.tail(clean.stderr))")
            try Self.expectSameTensors(try SafeTensors.read(path: dir + "/checkpoints/step-00000099.safetensors"),
                                       try SafeTensors.read(path: short + "/checkpoints/step-00000099.safetensors"), "the diverged run's checkpoint")
        }

        @Test("2 workers stopped by SIGINT mid-run and started again train what a run never stopped trains, bit for bit")
        func resumedRunIsTheSame() throws {
            let arguments = ["--workers", "2", "--steps", "600", "--seed", "9"] + Self.distributed
            /// Trains in `dir` until the end, or until step ≥ `stopAt` if given; returns the coordinator.
            func train(_ dir: String, stopAt: Int? = nil) throws -> RunningAgon {
                let (coordinator, endpoint) = try DistributedHarness.startCoordinator(runDirectory: dir, arguments)
                let workers = try (0..<2).map { try DistributedHarness.startWorker(endpoint, name: "worker \($0)") }
                defer { workers.forEach { $0.stop() } }
                defer { coordinator.stop() }
                guard let stopAt else {
                    #expect(try coordinator.waitForExit(timeout: 120) == 0, "\(RunningAgon.tail(coordinator.stderr))")
                    return coordinator
                }
                try coordinator.waitForProgress("step ≥ \(stopAt)", timeout: 60) { $0.step >= stopAt }
                // As Ctrl-C of `agon run` does: every process of the run is signalled at once.
                for process in [coordinator] + workers { process.send(SIGINT) }
                for process in [coordinator] + workers { #expect(try process.waitForExit(timeout: Self.bound) == 130, "\(process.name)") }
                return coordinator
            }
            let whole = try AgonProcess.temporaryDirectory(), stopped = try AgonProcess.temporaryDirectory()
            defer { for dir in [whole, stopped] { try? FileManager.default.removeItem(atPath: dir) } }
            _ = try train(whole)
            let first = try train(stopped, stopAt: 150)
            let step = try Self.stoppedStep(first.stderr, role: "coordinator")
            try #require(step < 600, "the run ended before the stop; the test proved nothing")
            print(first.stderr.split(separator: "\n").first { $0.hasPrefix("coordinator: stopped after") } ?? "")
            #expect(try Self.latestCheckpoint(stopped) == step)
            let second = try train(stopped)
            #expect(second.stderr.contains("coordinator: resuming after step \(step) from "), "\(RunningAgon.tail(second.stderr))")

            let expected = try SafeTensors.read(path: whole + "/checkpoints/step-00000600.safetensors")
            let actual = try SafeTensors.read(path: stopped + "/checkpoints/step-00000600.safetensors")
            try Self.expectSameTensors(actual, expected, "the resumed run's checkpoint")
        }
    }
}
