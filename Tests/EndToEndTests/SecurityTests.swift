// Who may join a run: with CURVE keys, only workers whose public key the coordinator holds;
// a worker with another key or none is turned away with one clear line. And bytes that are
// not a well-behaved ZeroMQ peer's, sent to the coordinator's port, disturb nothing.
import Foundation
import Testing

extension Distributed {
    @Suite("CURVE admission and hostile bytes")
    struct SecurityTests {
        /// A key pair from `agon keys generate --out DIR`.
        func generateKeys(_ dir: String) throws {
            let result = try AgonProcess.run(["keys", "generate", "--out", dir], timeout: 30)
            try #require(result.status == 0, "agon keys generate failed: \(result.stderr)")
            #expect(FileManager.default.fileExists(atPath: dir + "/secret.key"))
            #expect(FileManager.default.fileExists(atPath: dir + "/public.key"))
        }

        /// The lines of `stderr` that start with "Error:".
        func errorLines(_ stderr: String) -> [Substring] {
            stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        }

        @Test("only the authorized key joins: an unknown key and no CURVE at all get one Error line each")
        func onlyAuthorizedWorkersJoin() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for name in ["coordinator", "a", "b"] { try generateKeys(dir + "/" + name) }
            try FileManager.default.createDirectory(atPath: dir + "/authorized", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: dir + "/a/public.key", toPath: dir + "/authorized/worker-a.key")
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }

            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir + "/run",
                ["--workers", "1", "--steps", "300", "--batch", "16", "--seed", "11", "--checkpoint-every", "0",
                 "--curve-secret", dir + "/coordinator/secret.key", "--authorized-keys", dir + "/authorized"])
            processes.append(coordinator)
            #expect(coordinator.stderr.contains("with CURVE"), "\(coordinator.stderr)")

            // B and C try first, while the coordinator still waits for its one worker: were
            // either admitted, it would start the run with it.
            let serverKey = ["--coordinator-key", dir + "/coordinator/public.key"]
            let b = try DistributedHarness.startWorker(endpoint, ["--curve-key", dir + "/b/secret.key", "--join-timeout", "3"] + serverKey,
                                                       name: "worker B (unknown key)")
            let c = try DistributedHarness.startWorker(endpoint, ["--join-timeout", "3"], name: "worker C (no CURVE)")
            processes += [b, c]
            for outsider in [b, c] {
                let status = try outsider.waitForExit(timeout: 30)
                #expect(status != 0, "\(outsider.name) exited 0: \(outsider.stderr)")
                #expect(status < 128, "\(outsider.name) died of signal \(status - 128): \(outsider.stderr)")
                let errors = errorLines(outsider.stderr)
                #expect(errors.count == 1, "\(outsider.name): expected one Error line, got: \(outsider.stderr)")
                #expect(errors.first?.contains(endpoint) == true, "\(outsider.name): the error does not name \(endpoint)")
                #expect(!outsider.stderr.contains("worker: joined"), "\(outsider.name) was admitted: \(outsider.stderr)")
            }
            #expect(coordinator.stderr.contains("coordinator: refused a worker: "), "no refusal logged: \(coordinator.stderr)")
            #expect(!coordinator.stderr.contains("joined"), "the coordinator admitted an outsider: \(coordinator.stderr)")
            #expect(coordinator.progress.isEmpty && coordinator.isRunning)

            let a = try DistributedHarness.startWorker(endpoint, ["--curve-key", dir + "/a/secret.key"] + serverKey, name: "worker A")
            processes.append(a)
            #expect(try coordinator.waitForExit(timeout: 60) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            #expect(coordinator.progress.last == ProgressLine(step: 300, total: 300, workers: 1))
            #expect(try a.waitForExit(timeout: 20) == 0, "\(a.stderr)")
            #expect(a.stderr.contains("worker: the coordinator says the run is complete after step 300"))
        }

        /// Connections of noise: 64 KiB of random bytes, a ZMTP signature's first byte and then
        /// noise, and a few bytes that never finish a greeting.
        static func noise() -> [[UInt8]] {
            var random = SeededBytes(seed: 2024)
            return [random.bytes(65_536), [0xFF] + random.bytes(300), random.bytes(7)]
        }

        /// Messages that are not Agon's, as ZMTP frames: the coordinator should decode each of
        /// the first 7, find it wanting, log it and drop it, and ignore the last (a stranger's).
        static func malformedMessages() -> [UInt8] {
            var random = SeededBytes(seed: 2025)
            return LoopbackSocket.zmtpMessage([[3] + random.bytes(40)])                      // noise after a valid version
                + LoopbackSocket.zmtpMessage([[9, 6, 0, 0, 0, 0, 0, 0, 0, 0]])               // version 9
                + LoopbackSocket.zmtpMessage([[3, 99]])                                      // an unknown kind
                + LoopbackSocket.zmtpMessage([[3, 1, 0xFF, 0xFF, 0xFF, 0x7F]])               // join whose string runs far past the end
                + LoopbackSocket.zmtpMessage([[3, 4, 1, 0, 0, 0]])                           // gradients, truncated
                + LoopbackSocket.zmtpMessage([[3, 4] + [UInt8](repeating: 0, count: 21), [1, 2, 3]]) // gradients, a 3-byte payload
                + LoopbackSocket.zmtpMessage([[3, 6] + [UInt8](repeating: 0, count: 8), [0]]) // a heartbeat with a payload
                + LoopbackSocket.zmtpMessage([[3, 6] + [UInt8](repeating: 0, count: 8)])      // a heartbeat from a stranger
        }

        /// The coordinator's lines about dropped messages from a peer with a routing id libzmq
        /// made (5 bytes): the handshaking test socket, not the noise.
        static func droppedFromHandshakePeer(_ stderr: String) -> [Substring] {
            stderr.split(separator: "\n").filter { $0.contains(#/^coordinator: dropped a message from 0x00[0-9a-f]{8}: /#) }
        }

        /// Starts a coordinator and 2 workers for 400 steps and waits for step 20; with `curve`,
        /// on keys made in `dir`.
        func startRun(in dir: String, curve: Bool) throws -> (coordinator: RunningAgon, endpoint: String, workers: [RunningAgon]) {
            var security: [String] = [], workerSecurity: [String] = []
            if curve {
                for name in ["coordinator", "worker"] { try generateKeys(dir + "/" + name) }
                try FileManager.default.createDirectory(atPath: dir + "/authorized", withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: dir + "/worker/public.key", toPath: dir + "/authorized/worker.key")
                security = ["--curve-secret", dir + "/coordinator/secret.key", "--authorized-keys", dir + "/authorized"]
                workerSecurity = ["--curve-key", dir + "/worker/secret.key", "--coordinator-key", dir + "/coordinator/public.key"]
            }
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir + "/run", ["--workers", "2", "--steps", "400", "--batch", "16", "--seed", "12", "--checkpoint-every", "0"] + security)
            var workers: [RunningAgon] = []
            do {
                workers = try (0..<2).map { try DistributedHarness.startWorker(endpoint, workerSecurity, name: "worker \($0)") }
                try coordinator.waitForProgress("step ≥ 20", timeout: 60) { $0.step >= 20 }
            } catch {
                ([coordinator] + workers).forEach { $0.stop() }
                throw error
            }
            return (coordinator, endpoint, workers)
        }

        /// Expects the run of `startRun` to complete as if nothing had happened.
        func expectUndisturbedCompletion(_ coordinator: RunningAgon, _ workers: [RunningAgon], afterStep step: Int) throws {
            #expect(step < 400, "the run ended before the bytes arrived; the test proved nothing")
            #expect(try coordinator.waitForExit(timeout: 60) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            let progress = coordinator.progress
            #expect(progress.last == ProgressLine(step: 400, total: 400, workers: 2))
            #expect(progress.allSatisfy { $0.workers == 2 }, "a step lost a worker: \(progress.filter { $0.workers != 2 })")
            #expect(progress.map(\.step) == Array(1...400), "steps were skipped or repeated")
            #expect(!coordinator.stderr.contains("dropped after"), "\(coordinator.stderr)")
            for worker in workers {
                #expect(try worker.waitForExit(timeout: 20) == 0, "\(worker.name): \(RunningAgon.tail(worker.stderr))")
            }
        }

        @Test("random bytes and malformed messages on the coordinator's port change nothing", arguments: [false, true])
        func hostileBytesChangeNothing(curve: Bool) throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (coordinator, endpoint, workers) = try startRun(in: dir, curve: curve)
            defer { ([coordinator] + workers).forEach { $0.stop() } }

            // The sockets stay open until the run ends: closing one with unread input resets the
            // connection, which could discard bytes before the coordinator reads them.
            let port = try DistributedHarness.port(of: endpoint)
            var sockets = try Self.noise().map { bytes in
                let socket = try LoopbackSocket(port: port)
                socket.send(bytes)   // the coordinator may hang up part way: that is its right
                return socket
            }
            defer { withExtendedLifetime(sockets) {} }
            let peer = try LoopbackSocket(port: port)
            sockets.append(peer)
            if curve {
                // A CURVE server hangs up on a NULL client, so nothing it sends can reach the coordinator.
                peer.send(LoopbackSocket.zmtpGreeting)
                #expect(peer.waitForClose(), "the CURVE coordinator kept a NULL-mechanism connection open")
            } else {
                try peer.zmtpHandshake()
                peer.send(Self.malformedMessages())
                try coordinator.waitUntil("7 malformed messages dropped", timeout: 20) { _, err in
                    Self.droppedFromHandshakePeer(err).count >= 7
                }
                #expect(coordinator.stderr.contains("message of protocol version 9;"))
                #expect(coordinator.stderr.contains("unknown message kind 99"))
            }
            let afterwards = try #require(coordinator.progress.last).step
            try expectUndisturbedCompletion(coordinator, workers, afterStep: afterwards)
            if curve {
                #expect(!coordinator.stderr.contains("dropped a message"), "bytes from an unauthenticated peer reached the coordinator")
            } else {
                #expect(Self.droppedFromHandshakePeer(coordinator.stderr).count == 7, "\(coordinator.stderr)")
            }
        }

        @Test("a message of more frames than the limit, from a stranger, is dropped and the run goes on")
        func tooManyFramesChangeNothing() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (coordinator, endpoint, workers) = try startRun(in: dir, curve: false)
            defer { ([coordinator] + workers).forEach { $0.stop() } }

            let peer = try LoopbackSocket(port: try DistributedHarness.port(of: endpoint))
            defer { withExtendedLifetime(peer) {} }
            try peer.zmtpHandshake()
            // 20 heartbeat frames (the limit is 16), then a message the coordinator logs: once that
            // line is there, the long one has been read.
            peer.send(LoopbackSocket.zmtpMessage([[UInt8]](repeating: [3, 6, 0, 0, 0, 0, 0, 0, 0, 0], count: 20))
                      + LoopbackSocket.zmtpMessage([[3, 99]]))
            try coordinator.waitForLog("unknown message kind 99", timeout: 20)
            let afterwards = try #require(coordinator.progress.last).step
            try expectUndisturbedCompletion(coordinator, workers, afterStep: afterwards)
        }
    }
}
