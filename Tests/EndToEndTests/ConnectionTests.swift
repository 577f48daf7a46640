// A run across processes as a cluster engine starts it: one key folder for every process, CURVE
// on the aggregator too, workers told where the aggregator is, a worker that starts before its
// coordinator, and a refused worker told at once why.
import Foundation
import Testing

extension Distributed {
    @Suite("one key folder, any start order, refusals told at once")
    struct ConnectionTests {
        static let training = ["--batch", "16", "--checkpoint-every", "0", "--quality-every", "0", "--seed", "5"]

        @Test("one --cluster key folder: aggregator, coordinator and 2 workers (only --coordinator) fill run.db over CURVE")
        func clusterKeyFolder() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let keys = dir + "/keys", run = dir + "/run"
            try BadInputTests.generateKeys(keys, cluster: true)
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let (aggregator, events) = try DistributedHarness.startAggregator(runDirectory: run, ["--keys", keys])
            processes.append(aggregator)
            #expect(aggregator.stderr.contains("listening on \(events) with CURVE"), "\(aggregator.stderr)")
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: run, ["--workers", "2", "--steps", "40", "--sample-every", "20", "--keys", keys, "--aggregator", events] + Self.training,
                latentViews: true)
            processes.append(coordinator)
            let workers = try (0..<2).map {
                try DistributedHarness.startWorker(endpoint, ["--keys", keys, "--run-dir", run], name: "worker \($0)")
            }
            processes += workers
            #expect(try coordinator.waitForExit(timeout: 90) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            for worker in workers {
                #expect(try worker.waitForExit(timeout: 40) == 0, "\(worker.name): \(RunningAgon.tail(worker.stderr))")
                #expect(worker.stderr.contains("worker: sending events to \(events), the aggregator the coordinator named"), "\(worker.stderr)")
            }
            // Every step of both workers and of the coordinator, stored by the CURVE aggregator.
            let db = run + "/run.db"
            for source in ["worker-0", "worker-1", "coordinator"] {
                try DistributedHarness.waitUntil("40 steps of \(source) in run.db", timeout: 30) {
                    (try? RunDatabase.integer(db, "SELECT COUNT(DISTINCT step) FROM scalars WHERE worker = '\(source)' AND step BETWEEN 1 AND 40")) == 40
                }
            }
            // A peer without keys gets nothing in: the aggregator hangs up on a NULL greeting.
            let peer = try LoopbackSocket(port: try DistributedHarness.port(of: events))
            peer.send(LoopbackSocket.zmtpGreeting)
            #expect(peer.waitForClose(), "the CURVE aggregator kept a NULL-mechanism connection open")
            // One shared --run-dir, as under agon run: the coordinator's checkpoint, sample grids and
            // latent views, the aggregator's database, charts and report, the workers' spool.
            aggregator.send(SIGTERM)
            #expect(try aggregator.waitForExit(timeout: 30) == 0, "\(RunningAgon.tail(aggregator.stderr))")
            #expect(coordinator.stderr.contains("coordinator: latent views of step 40 in \(run)/plots"), "\(RunningAgon.tail(coordinator.stderr))")
            for file in ["checkpoints/step-00000040.safetensors", "samples/step-00000040.png", "plots/tsne.png", "plots/pca.png",
                         "run.db", "report.html", "spool"] {
                #expect(FileManager.default.fileExists(atPath: run + "/" + file), "no \(file) in the shared run folder")
            }
        }

        @Test("refused workers are told at once, each why: key not admitted, wrong coordinator key, no keys, keys against a plain coordinator")
        func refusalsAreToldAtOnce() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let keys = dir + "/keys"
            try BadInputTests.generateKeys(keys, cluster: true)
            // A stranger: its own pair, the right coordinator key. A wrong key: the admitted pair,
            // the stranger's public key as the coordinator's.
            try BadInputTests.generateKeys(dir + "/stranger")
            try FileManager.default.copyItem(atPath: keys + "/coordinator.key", toPath: dir + "/stranger/coordinator.key")
            try FileManager.default.createDirectory(atPath: dir + "/wrong", withIntermediateDirectories: true)
            for name in ["secret.key", "public.key"] { try FileManager.default.copyItem(atPath: keys + "/" + name, toPath: dir + "/wrong/" + name) }
            try FileManager.default.copyItem(atPath: dir + "/stranger/public.key", toPath: dir + "/wrong/coordinator.key")

            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir + "/run", ["--workers", "1", "--steps", "100", "--keys", keys] + Self.training)
            processes.append(coordinator)
            let (plain, plainEndpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir + "/plain", ["--workers", "1", "--steps", "100"] + Self.training, name: "plain coordinator")
            processes.append(plain)
            let brokeOff = ": the coordinator broke off the CURVE handshake: the coordinator key this worker has "
            // Keys against a plain coordinator: the worker sees the mismatch of mechanisms, or
            // only the hang-up when the coordinator's check wins the race (both lines say so).
            let cases: [(keys: [String], endpoint: String, lines: [String])] = [
                (["--keys", dir + "/stranger"], endpoint, [": the coordinator does not admit this worker's key "]),
                (["--keys", dir + "/wrong"], endpoint, [brokeOff]),
                ([], endpoint, [": the coordinator requires CURVE keys and this worker has none"]),
                (["--keys", keys], plainEndpoint, [": the coordinator does not use CURVE but this worker has keys", brokeOff]),
            ]
            for (index, refused) in cases.enumerated() {
                let started = Date()
                // The join timeout is long: only the handshake's failure can end it this soon.
                let worker = try DistributedHarness.startWorker(refused.endpoint, refused.keys + ["--join-timeout", "120"], name: "refused worker \(index)")
                processes.append(worker)
                #expect(try worker.waitForExit(timeout: 30) == 1, "\(worker.name): \(worker.stderr)")
                let seconds = Date().timeIntervalSince(started)
                #expect(seconds < 10, "\(worker.name) was told after \(seconds) s")
                let errors = worker.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
                #expect(errors.count == 1 && refused.lines.contains { errors[0].hasPrefix("Error: " + refused.endpoint + $0) }, "\(worker.name): \(worker.stderr)")
                print("\(worker.name) (\(refused.lines[0].prefix(40))…): exited 1 after \(String(format: "%.2f", seconds)) s")
            }
            #expect(coordinator.stderr.contains("coordinator: refused a worker: "), "\(coordinator.stderr)")
            #expect(coordinator.isRunning && coordinator.progress.isEmpty, "an outsider was admitted: \(coordinator.stderr)")
        }

        @Test("a worker started 3 s before its coordinator, by name, waits, joins and trains")
        func workerBeforeCoordinator() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let keys = dir + "/keys"
            try BadInputTests.generateKeys(keys, cluster: true)
            let port = try LoopbackSocket.unusedPort()
            let byName = "tcp://localhost:\(port)"
            let worker = try DistributedHarness.startWorker(byName, ["--keys", keys], name: "early worker")
            defer { worker.stop() }
            try worker.waitForLog("worker: waiting for the coordinator at \(byName)", timeout: 30)
            Thread.sleep(forTimeInterval: 3)   // the start order under test, not a wait for an event
            #expect(worker.isRunning, "\(worker.stderr)")
            let (coordinator, _) = try DistributedHarness.startCoordinator(
                runDirectory: dir + "/run", bind: "tcp://127.0.0.1:\(port)", ["--workers", "1", "--steps", "30", "--keys", keys] + Self.training)
            defer { coordinator.stop() }
            #expect(try coordinator.waitForExit(timeout: 60) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            #expect(coordinator.progress.last == ProgressLine(step: 30, total: 30, workers: 1))
            #expect(try worker.waitForExit(timeout: 20) == 0, "\(worker.stderr)")
            let lines = worker.stderr.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("worker: waiting for the coordinator") }.count == 1, "\(worker.stderr)")
            #expect(lines.filter { $0.hasPrefix("worker: reached the coordinator at \(byName) after ") }.count == 1, "\(worker.stderr)")
            #expect(worker.stderr.contains("worker: joined \(byName)"), "\(worker.stderr)")
        }
    }
}
