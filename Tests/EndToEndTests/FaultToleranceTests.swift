// A run outlives its processes: a worker killed or frozen mid-run is dropped and the others
// train on; a new worker takes its place; a coordinator killed and started again on the same
// folder and port resumes from its checkpoint and the same worker processes rejoin it.
import Foundation
import Testing

extension Distributed {
    @Suite("a run survives killed and frozen processes")
    struct FaultToleranceTests {
        /// Per-worker batch 8 keeps 2400 steps of 3 workers inside one epoch (60000 / 24 = 2500
        /// steps), so no re-sharding happens while the tests watch membership change, and the
        /// runs last long enough for a worker to be killed, dropped and replaced.
        static let training = ["--batch", "8", "--checkpoint-every", "0", "--sample-every", "100000", "--quality-every", "0"]

        /// True if `log` has a line holding every one of `parts`.
        static func logged(_ log: String, _ parts: String...) -> Bool {
            log.split(separator: "\n").contains { line in parts.allSatisfy { line.contains($0) } }
        }

        @Test("kill -9 one of 3 workers: it is dropped, 2 train on, a new worker joins as rank and 3 train again")
        func killedWorkerIsReplaced() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }

            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir, ["--workers", "3", "--steps", "2400", "--seed", "5"] + Self.training)
            processes.append(coordinator)
            let workers = try (0..<3).map { try DistributedHarness.startWorker(endpoint, name: "worker \($0)") }
            processes += workers

            try coordinator.waitForProgress("step ≥ 20 averaged over 3 workers", timeout: 60) { $0.step >= 20 && $0.workers == 3 }
            workers[0].send(SIGKILL)
            #expect(try workers[0].waitForExit(timeout: 10) == 128 + SIGKILL)
            let killedAt = try #require(coordinator.progress.last).step

            // Dropped by name (HOST:PID), whether for silence or for a send that failed.
            try coordinator.waitUntil("the killed worker dropped", timeout: 20) { _, err in
                Self.logged(err, "coordinator: worker ", ":\(workers[0].pid) (", "dropped")
            }
            // The step in flight at the kill may hold the dead worker's gradients; the one after cannot.
            let withTwo = try coordinator.waitForProgress("2 workers after the kill", timeout: 20) { $0.step > killedAt && $0.workers == 2 }
            #expect(!coordinator.progress.contains { $0.step > killedAt + 1 && $0.step <= withTwo.step && $0.workers == 3 },
                    "a step after the kill averaged 3 workers")

            let newcomer = try DistributedHarness.startWorker(endpoint, name: "new worker")
            processes.append(newcomer)
            try coordinator.waitUntil("the new worker joined as a rank", timeout: 30) { _, err in
                Self.logged(err, "coordinator: worker ", ":\(newcomer.pid) (", "joined as rank ")
            }
            let joinedAt = try #require(coordinator.progress.last).step
            try coordinator.waitForProgress("3 workers again after the join", timeout: 20) { $0.step > joinedAt && $0.workers == 3 }

            #expect(try coordinator.waitForExit(timeout: 90) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            #expect(coordinator.stderr.contains("coordinator: run complete after 2400 steps"))
            #expect(coordinator.progress.last == ProgressLine(step: 2400, total: 2400, workers: 3))
            for worker in [workers[1], workers[2], newcomer] {
                #expect(try worker.waitForExit(timeout: 20) == 0, "\(worker.name): \(RunningAgon.tail(worker.stderr))")
                #expect(worker.stderr.contains("worker: the coordinator says the run is complete after step 2400"), "\(worker.name)")
            }
        }

        @Test("kill -9 the coordinator after a checkpoint: restarted on the same folder and port, it resumes and the same workers rejoin")
        func restartedCoordinatorResumes() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }

            let arguments = ["--workers", "2", "--steps", "600", "--seed", "6", "--batch", "16", "--checkpoint-every", "25"]
            let (first, endpoint) = try DistributedHarness.startCoordinator(runDirectory: dir, arguments, name: "first coordinator")
            processes.append(first)
            let workers = try (0..<2).map { try DistributedHarness.startWorker(endpoint, name: "worker \($0)") }
            processes += workers

            try first.waitForLog("coordinator: checkpoint after step 50", timeout: 60)
            first.send(SIGKILL)
            #expect(try first.waitForExit(timeout: 10) == 128 + SIGKILL)
            // More checkpoints may have landed between the log line and the kill: the newest counts.
            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints")
            let saved = try #require(checkpoints.compactMap { name -> Int? in
                guard name.hasPrefix("step-"), name.hasSuffix(".safetensors") else { return nil }
                return Int(name.dropFirst(5).dropLast(12))
            }.max())
            #expect(saved >= 50 && saved % 25 == 0 && saved < 600)
            #expect(workers.allSatisfy { $0.isRunning }, "a worker exited when its coordinator died")

            let port = try DistributedHarness.port(of: endpoint)
            let (second, sameEndpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir, bind: "tcp://127.0.0.1:\(port)", arguments, name: "restarted coordinator")
            processes.append(second)
            #expect(sameEndpoint == endpoint)
            #expect(second.stderr.contains("coordinator: resuming after step \(saved) from "), "\(RunningAgon.tail(second.stderr))")
            for worker in workers {
                try worker.waitForLog("worker: rejoined \(endpoint)", timeout: 60)
            }

            #expect(try second.waitForExit(timeout: 90) == 0, "\(RunningAgon.tail(second.stderr))")
            #expect(second.stderr.contains("coordinator: run complete after 600 steps"))
            let progress = second.progress
            #expect(progress.first?.step == saved + 1, "the restarted coordinator's first step is \(String(describing: progress.first))")
            #expect(progress.last == ProgressLine(step: 600, total: 600, workers: 2))
            for worker in workers {
                #expect(try worker.waitForExit(timeout: 20) == 0, "\(worker.name): \(RunningAgon.tail(worker.stderr))")
            }
        }

        @Test("a worker's shared-memory segment truncated mid-run: the coordinator lives on without that worker's lane, and the run completes")
        func shrunkSegmentClosesTheLane() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir, ["--workers", "2", "--steps", "600", "--seed", "9", "--step-deadline", "1"] + Self.training)
            processes.append(coordinator)
            let workers = try (0..<2).map { try DistributedHarness.startWorker(endpoint, name: "worker \($0)") }
            processes += workers
            try coordinator.waitForProgress("step ≥ 20 over shared memory", timeout: 60) { $0.step >= 20 }

            // What a hostile or broken worker could do: cut its own segment to nothing. The worker
            // unlinks it once the coordinator has it mapped, so it is reached through the worker's
            // mapping (/proc/PID/map_files, which root may open).
            let maps = try String(contentsOfFile: "/proc/\(workers[0].pid)/maps", encoding: .utf8)
            let range = try #require(maps.split(separator: "\n").first { $0.contains("/dev/shm/agon-worker-") }?.split(separator: " ").first,
                                     "worker \(workers[0].pid) has no shared-memory segment mapped")
            #expect(truncate("/proc/\(workers[0].pid)/map_files/\(range)", 0) == 0, "truncate: errno \(errno)")
            #expect(try coordinator.waitForExit(timeout: 120) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            #expect(coordinator.stderr.contains("coordinator: run complete after 600 steps"))
            #expect(coordinator.progress.last?.step == 600)
            // The worker that wrote into its cut segment faulted and was dropped, or (had it been
            // the coordinator that read past the end) the lane was closed: either way, no crash.
            #expect(Self.logged(coordinator.stderr, "coordinator: worker ", ":\(workers[0].pid) (", "dropped")
                    || coordinator.stderr.contains("shared-memory segment shrank; its lane is closed"), "\(coordinator.stderr)")
        }

        @Test("SIGSTOP one of 3 workers: the other 2 train on within seconds; after SIGCONT the run completes")
        func frozenWorkerDoesNotStallTheRun() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }

            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir, ["--workers", "3", "--steps", "2400", "--seed", "7"] + Self.training)
            processes.append(coordinator)
            let workers = try (0..<3).map { try DistributedHarness.startWorker(endpoint, name: "worker \($0)") }
            processes += workers

            try coordinator.waitForProgress("step ≥ 20 averaged over 3 workers", timeout: 60) { $0.step >= 20 && $0.workers == 3 }
            workers[0].send(SIGSTOP)
            defer { workers[0].send(SIGCONT) }
            let stoppedAt = try #require(coordinator.progress.last).step
            let stopped = Date()

            // Silent for 3 heartbeats (3 s), it is dropped; the step waits no longer than that.
            try coordinator.waitForProgress("20 more steps from 2 workers", timeout: 15) { $0.step >= stoppedAt + 20 && $0.workers == 2 }
            let stall = Date().timeIntervalSince(stopped)
            #expect(stall < 10, "the run stalled \(stall) s on a stopped worker")
            #expect(Self.logged(coordinator.stderr, ":\(workers[0].pid) (", "dropped after 3 missed heartbeats"),
                    "\(RunningAgon.tail(coordinator.stderr))")

            // Thawed, it finds its coordinator silent (it was dropped), rejoins, and ends with the run.
            workers[0].send(SIGCONT)
            try workers[0].waitForLog("worker: rejoined \(endpoint)", timeout: 30)
            #expect(coordinator.isRunning, "the run ended before the thawed worker rejoined; the test proved less than it should")
            #expect(try coordinator.waitForExit(timeout: 90) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            #expect(coordinator.progress.last?.step == 2400)
            for worker in workers {
                #expect(try worker.waitForExit(timeout: 20) == 0, "\(worker.name): \(RunningAgon.tail(worker.stderr))")
            }
        }
    }
}
