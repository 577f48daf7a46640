// The aggregator keeps every event of a run exactly once: killed with -9 mid-run and started
// again on the same folder and port, it ends with each worker's every step stored once, as the
// sources send again what it had not acknowledged; bytes that are not events are logged and
// dropped; and a Python loop's metrics, sent with clients/python/agon_client.py, land in run.db
// bit for bit and in the plots.
import Foundation
import Testing

extension Distributed {
    @Suite("the aggregator stores every event exactly once",
           .enabled(if: RunDatabase.sqlite3 != nil, "reads run.db with the sqlite3 command (Debian package sqlite3)"))
    struct AggregatorTests {
        /// The values a worker sends each step (at least these: a newer build may add more).
        static let workerTags = ["g_loss", "d_loss", "d_real_loss", "d_fake_loss", "acc_real", "acc_fake", "d_x", "d_g_z",
                                 "g_grad_norm", "d_grad_norm", "step_time_s"]
        /// The charts every run draws, each as PNG and SVG.
        static let charts = ["accuracy", "d_outputs", "gradient_norms", "losses", "step_time"]
        static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

        /// Expects every chart under RUN/plots as a PNG and an SVG written at or after `since`.
        static func expectPlots(in run: String, writtenSince since: Date? = nil) {
            for chart in charts {
                for suffix in ["png", "svg"] {
                    let path = "\(run)/plots/\(chart).\(suffix)"
                    guard let data = FileManager.default.contents(atPath: path) else {
                        Issue.record("no \(path)")
                        continue
                    }
                    if suffix == "png" {
                        #expect(Array(data.prefix(8)) == pngSignature, "\(path) is not a PNG")
                    } else {
                        #expect(String(decoding: data.prefix(200), as: UTF8.self).contains("<svg"), "\(path) is not an SVG")
                    }
                    if let since, let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date {
                        #expect(modified >= since.addingTimeInterval(-1), "\(path) was last drawn at \(modified), before the last events (\(since))")
                    }
                }
            }
        }

        /// Expects run.db to hold each of `workers` worker sources' `steps` steps exactly once
        /// (the runs measure no sample quality, so the coordinator sends only the ranks each step
        /// averaged and its grids): the same values every step (`workerTags` among them), every
        /// step 1...steps once per tag, sequence numbers without a gap or a repeat, and the
        /// coordinator's sample grids at `sampleSteps`.
        static func expectEveryEventOnce(_ db: String, workers: Int, steps: Int, sampleSteps: [Int]) throws {
            let ofWorkers = "worker LIKE 'worker-%'"
            let tags = try RunDatabase.rows(db, "SELECT DISTINCT tag FROM scalars WHERE \(ofWorkers) ORDER BY tag").map { $0[0] }
            #expect(Set(workerTags).isSubset(of: tags), "tags in run.db: \(tags)")
            let perStep = tags.count
            let perSource = try RunDatabase.rows(db, "SELECT worker, count(*), count(DISTINCT seq) FROM scalars WHERE \(ofWorkers) GROUP BY worker ORDER BY worker")
            #expect(perSource.count == workers, "worker sources in run.db: \(perSource)")
            for row in perSource {
                #expect(row[1] == String(steps * perStep) && row[2] == String(steps),
                        "\(row[0]): \(row[1]) scalar values in \(row[2]) events, expected \(steps * perStep) in \(steps)")
            }
            let series = try RunDatabase.rows(db, """
                SELECT worker, tag, count(*), count(DISTINCT step), min(step), max(step) FROM scalars
                WHERE \(ofWorkers) GROUP BY worker, tag ORDER BY worker, tag
                """)
            #expect(series.count == workers * perStep, "\(series.count) (worker, tag) series, expected \(workers * perStep)")
            for worker in Set(series.map { $0[0] }) {
                #expect(series.filter { $0[0] == worker }.map { $0[1] } == tags, "\(worker) lacks some of \(tags)")
            }
            for row in series where row[2...] != [String(steps), String(steps), "1", String(steps)] {
                Issue.record("\(row[0]) \(row[1]): \(row[2]) values at \(row[3]) distinct steps from \(row[4]) to \(row[5]), expected steps 1...\(steps) once each")
            }
            // A (worker, incarnation, seq) is one event: one value of each tag, never a value twice.
            #expect(try RunDatabase.integer(db, """
                SELECT count(*) FROM (SELECT 1 FROM scalars WHERE \(ofWorkers) GROUP BY worker, incarnation, seq
                                      HAVING count(*) != \(perStep) OR count(DISTINCT tag) != \(perStep))
                """) == 0, "an event holds other than one value of each of \(tags)")
            // The coordinator's record of each step: how many workers it averaged, once per step.
            #expect(try RunDatabase.rows(db, """
                SELECT count(*), count(DISTINCT step), min(step), max(step), min(value), max(value) FROM scalars
                WHERE worker = 'coordinator' AND tag = 'contributors'
                """) == [[String(steps), String(steps), "1", String(steps), "\(workers).0", "\(workers).0"]])
            // Every source's events numbered 0...last without a gap: a worker's identity, then a
            // step each; the coordinator's generation and identity, a step each, and its grids.
            let events = try RunDatabase.rows(db, "SELECT worker, count(*), min(seq), max(seq), sum(kind = 1), sum(kind = 2) FROM events GROUP BY worker ORDER BY worker")
            for row in events {
                if row[0] == "coordinator" {
                    let count = steps + sampleSteps.count + 2
                    #expect(row[1...] == ["\(count)", "0", "\(count - 1)", "\(steps)", "\(sampleSteps.count)"], "the coordinator's events: \(row)")
                } else {
                    #expect(row[1...] == ["\(steps + 1)", "0", "\(steps)", "\(steps)", "0"], "\(row[0])'s events: \(row)")
                }
            }
            #expect(events.map { $0[0] }.filter { $0 != "coordinator" } == perSource.map { $0[0] }, "event sources: \(events.map { $0[0] })")
            let images = try RunDatabase.rows(db, "SELECT worker, tag, step FROM images ORDER BY step, worker, seq")
            #expect(images.map { $0[2] } == sampleSteps.map(String.init), "sample grids stored: \(images)")
            #expect(images.allSatisfy { $0[0] == "coordinator" && $0[1] == "samples" }, "\(images)")
        }

        @Test("kill -9 the aggregator mid-run of 3 workers; started again on the same folder and port it ends with every event exactly once")
        func killedAggregatorLosesNothing() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let run = dir + "/run", db = dir + "/run/run.db"

            let (first, events) = try DistributedHarness.startAggregator(runDirectory: run, name: "first aggregator")
            processes.append(first)
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: run, ["--workers", "3", "--steps", "400", "--batch", "16", "--seed", "21", "--checkpoint-every", "0",
                                    "--sample-every", "100", "--quality-every", "0", "--aggregator", events])
            processes.append(coordinator)
            let workers = try (0..<3).map { try DistributedHarness.startWorker(endpoint, ["--aggregator", events], name: "worker \($0)") }
            processes += workers

            // Some 20 steps of 3 workers are stored: 660 values of the run's 13,200 or more.
            try DistributedHarness.waitUntil("660 scalar values in run.db", timeout: 60) {
                ((try? RunDatabase.integer(db, "SELECT count(*) FROM scalars")) ?? 0) >= 660
            }
            first.send(SIGKILL)
            #expect(try first.waitForExit(timeout: 10) == 128 + SIGKILL)
            let killedAt = coordinator.progress.last?.step ?? 0

            // Training goes on without it: the sources spool what they cannot deliver.
            try coordinator.waitForProgress("50 steps after the kill", timeout: 60) { $0.step >= killedAt + 50 }
            #expect(workers.allSatisfy { $0.isRunning }, "a worker exited while its aggregator was away")
            let port = try DistributedHarness.port(of: events)
            let (second, sameEndpoint) = try DistributedHarness.startAggregator(
                runDirectory: run, bind: "tcp://127.0.0.1:\(port)", name: "restarted aggregator")
            processes.append(second)
            #expect(sameEndpoint == events)
            // It opened what the first one committed (its write-ahead log recovered), mid-run.
            let already = try #require(second.stderr.firstMatch(of: #/; (\d+) scalar values already in /#).flatMap { Int($0.1) },
                                       "\(second.stderr)")
            #expect(already >= 660 && already < 3 * 400 * Self.workerTags.count, "the restarted aggregator found \(already) values")

            #expect(try coordinator.waitForExit(timeout: 90) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            #expect(coordinator.progress.last == ProgressLine(step: 400, total: 400, workers: 3))
            for worker in workers {
                #expect(try worker.waitForExit(timeout: 40) == 0, "\(worker.name): \(RunningAgon.tail(worker.stderr))")
            }
            // A source that gives up waiting for acknowledgements says how many events it kept.
            for process in [coordinator] + workers {
                #expect(!process.stderr.contains("not acknowledged"), "\(process.name): \(RunningAgon.tail(process.stderr))")
            }
            let lastEvent = Date()
            second.send(SIGTERM)
            #expect(try second.waitForExit(timeout: 30) == 0, "\(RunningAgon.tail(second.stderr))")
            #expect(second.stderr.contains("aggregator: stopped; plots in \(run)/plots"), "\(RunningAgon.tail(second.stderr))")
            #expect(!second.stderr.contains("failed"), "\(second.stderr)")

            try Self.expectEveryEventOnce(db, workers: 3, steps: 400, sampleSteps: [100, 200, 300, 400])
            Self.expectPlots(in: run, writtenSince: lastEvent)
            let samples = try FileManager.default.contentsOfDirectory(atPath: run + "/samples").filter { $0.hasPrefix("step-") }.sorted()
            #expect(samples == ["step-00000100.png", "step-00000200.png", "step-00000300.png", "step-00000400.png"])
        }

        /// Connections of noise for the aggregator's port: 64 KiB of random bytes, a ZMTP
        /// signature's first byte and then noise, and a few bytes that never finish a greeting.
        static func noise() -> [[UInt8]] {
            var random = SeededBytes(seed: 4242)
            return [random.bytes(65_536), [0xFF] + random.bytes(300), random.bytes(7)]
        }

        /// Events messages (and others) the aggregator must decode, find wanting, log and drop,
        /// none of it stored; with what each log line says.
        static let malformed: [(frames: [[UInt8]], logged: String)] = [
            // A count of 1000 events and the bytes of one.
            ([EventBytes.header(source: "liar", count: 1000) + EventBytes.scalars(seq: 0, step: 1, [("g_loss", 1)])],
             "events header: count 1000 does not fit"),
            // One event whose scalar count claims 2^31 - 1 values.
            ([EventBytes.header(source: "liar", count: 1) + EventBytes.le(Int64(0)) + EventBytes.le(Int64(1)) + EventBytes.le(0.0)
              + [1] + EventBytes.le(Int32.max) + EventBytes.string("g_loss")],
             "scalar count 2147483647 does not fit"),
            // A negative count.
            ([EventBytes.header(source: "liar", count: -1)], "events header: count -1 does not fit"),
            // A payload code no event has.
            ([EventBytes.header(source: "liar", count: 1) + EventBytes.le(Int64(0)) + EventBytes.le(Int64(1)) + EventBytes.le(0.0) + [7]
              + [UInt8](repeating: 0, count: 16)],
             "unknown payload code 7"),
            // A negative sequence number.
            ([EventBytes.header(source: "liar", count: 1) + EventBytes.scalars(seq: -5, step: 1, [("g_loss", 1)])], "seq -5 out of range"),
            // Two good events and 3 bytes more.
            ([EventBytes.header(source: "liar", count: 2) + EventBytes.scalars(seq: 0, step: 1, [("g_loss", 1)])
              + EventBytes.scalars(seq: 1, step: 2, [("g_loss", 2)]) + [1, 2, 3]], "dropped a message from 0x00"),
            // A source name that runs past the end.
            ([[3, 9, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0] + Array("liar".utf8)], "dropped a message from 0x00"),
            // Just version and kind.
            ([[3, 9]], "dropped a message from 0x00"),
            // A good batch with a float payload frame no events message has.
            ([EventBytes.header(source: "liar", count: 0), [0, 0, 0, 0]], "dropped a message from 0x00"),
            // An acknowledgement, which only an aggregator sends.
            ([[3, 10] + EventBytes.string("liar") + EventBytes.le(Int64(1)) + EventBytes.le(Int64(1)) + EventBytes.le(Int64(1))
              + EventBytes.le(Int32(0)) + EventBytes.string("")], "dropped an unexpected"),
            // Protocol version 9, and an unknown kind.
            ([[9, 9, 0, 0, 0, 0]], "protocol version 9"),
            ([[3, 99]], "unknown message kind 99"),
        ]

        @Test("random bytes and malformed events messages on the aggregator's port are logged and dropped; the run's events are all stored")
        func hostileBytesAreDropped() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let run = dir + "/run", db = dir + "/run/run.db"

            let (aggregator, events) = try DistributedHarness.startAggregator(runDirectory: run)
            processes.append(aggregator)
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: run, ["--workers", "2", "--steps", "400", "--batch", "16", "--seed", "22", "--checkpoint-every", "0",
                                    "--sample-every", "200", "--quality-every", "0", "--aggregator", events])
            processes.append(coordinator)
            let workers = try (0..<2).map { try DistributedHarness.startWorker(endpoint, ["--aggregator", events], name: "worker \($0)") }
            processes += workers
            try DistributedHarness.waitUntil("the first events in run.db", timeout: 60) {
                ((try? RunDatabase.integer(db, "SELECT count(*) FROM scalars")) ?? 0) > 0
            }

            // The sockets stay open until the run ends: closing one with unread input resets the
            // connection, which could discard bytes before the aggregator reads them.
            let port = try DistributedHarness.port(of: events)
            var sockets = try Self.noise().map { bytes in
                let socket = try LoopbackSocket(port: port)
                socket.send(bytes)   // the aggregator may hang up part way: that is its right
                return socket
            }
            defer { withExtendedLifetime(sockets) {} }
            let peer = try LoopbackSocket(port: port)
            sockets.append(peer)
            try peer.zmtpHandshake()
            peer.send(Self.malformed.flatMap { LoopbackSocket.zmtpMessage($0.frames) })
            // 20 frames: over the limit of 16, consumed and dropped whole by the socket.
            peer.send(LoopbackSocket.zmtpMessage([[UInt8]](repeating: [3, 9], count: 20)))
            // The last is read last: when it is logged, every message before it has been handled.
            try aggregator.waitForLog("unknown message kind 99", timeout: 20)
            try aggregator.waitForLog("the limit is 16", timeout: 20)
            let sentAt = try #require(coordinator.progress.last).step
            #expect(sentAt < 400, "the run ended before the bytes arrived; the test proved less than it should")
            let log = aggregator.stderr
            for (frames, logged) in Self.malformed {
                #expect(log.contains(logged), "no line with \"\(logged)\" for \(frames.map(\.count)) bytes: \(log)")
            }
            // Each message of the handshaking peer (a routing id libzmq made: 5 bytes) is one line;
            // the noise makes lines of its own (libzmq reads some of it as ZMTP 1.0 messages).
            let lines = log.split(separator: "\n")
            let fromPeer = lines.filter { $0.contains(#/^aggregator: dropped a message from 0x00[0-9a-f]{8}: /#) }
            #expect(fromPeer.count == Self.malformed.count - 1, "\(fromPeer.count) messages of the peer dropped: \(log)")
            #expect(lines.filter { $0.hasPrefix("aggregator: dropped an unexpected eventAck message") }.count == 1, "\(log)")
            #expect(lines.filter { $0.hasPrefix("aggregator: dropped a message: ") && $0.hasSuffix("the limit is 16") }.count == 1, "\(log)")

            #expect(try coordinator.waitForExit(timeout: 90) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            for worker in workers {
                #expect(try worker.waitForExit(timeout: 40) == 0, "\(worker.name): \(RunningAgon.tail(worker.stderr))")
                #expect(!worker.stderr.contains("not acknowledged"), "\(worker.name): \(RunningAgon.tail(worker.stderr))")
            }
            #expect(aggregator.isRunning, "the aggregator exited: \(RunningAgon.tail(aggregator.stderr))")
            aggregator.send(SIGTERM)
            #expect(try aggregator.waitForExit(timeout: 30) == 0, "\(RunningAgon.tail(aggregator.stderr))")

            try Self.expectEveryEventOnce(db, workers: 2, steps: 400, sampleSteps: [200, 400])
            #expect(try RunDatabase.integer(db, "SELECT count(*) FROM events WHERE worker = 'liar'") == 0, "a malformed batch was stored")
            Self.expectPlots(in: run)
        }

        /// The acknowledgement of a batch of `source` (incarnation 1, as `EventBytes.header`
        /// numbers it) that ends before `through`, as a peer reads it.
        static func ack(_ source: String, next: Int64, through: Int64) -> [UInt8] {
            [3, 10] + EventBytes.string(source) + EventBytes.le(Int64(1)) + EventBytes.le(next) + EventBytes.le(through)
                + EventBytes.le(Int32(0)) + EventBytes.string("")
        }

        @Test("a well-formed batch of a source named ../../escaped leaves nothing outside the run folder")
        func sourceNameStaysInTheRunFolder() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let run = dir + "/run"
            let (aggregator, endpoint) = try DistributedHarness.startAggregator(runDirectory: run)
            defer { aggregator.stop() }
            let peer = try LoopbackSocket(port: try DistributedHarness.port(of: endpoint))
            try peer.zmtpHandshake()
            peer.send(LoopbackSocket.zmtpMessage([EventBytes.header(source: "../../escaped", count: 1)
                                                  + EventBytes.scalars(seq: 0, step: 1, [("g_loss", 1)])]))
            #expect(peer.receiveZMTPFrame() == Self.ack("../../escaped", next: 1, through: 1))
            // Stopping writes whatever TensorBoard records are still queued.
            aggregator.send(SIGTERM)
            #expect(try aggregator.waitForExit(timeout: 30) == 0, "\(RunningAgon.tail(aggregator.stderr))")
            #expect(!FileManager.default.fileExists(atPath: dir + "/escaped"), "a peer's source name put files in \(dir)/escaped")
        }

        @Test("a batch with seq Int64.max is rejected as malformed, not fatal to the aggregator")
        func largestSequenceNumberIsNotFatal() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (aggregator, endpoint) = try DistributedHarness.startAggregator(runDirectory: dir + "/run")
            defer { aggregator.stop() }
            let peer = try LoopbackSocket(port: try DistributedHarness.port(of: endpoint))
            try peer.zmtpHandshake()
            peer.send(LoopbackSocket.zmtpMessage([EventBytes.header(source: "last", count: 1)
                                                  + EventBytes.scalars(seq: .max, step: 1, [("g_loss", 1)])]))
            // Sequence numbers stop below Int64.max (one past the last must fit): the batch is
            // rejected as malformed, logged, and the aggregator goes on.
            try aggregator.waitForLog("out of range", timeout: 20)
            let failure = aggregator.stderr.split(separator: "\n").first { $0.contains("Fatal error") || $0.contains("runtime failure") }
            #expect(failure == nil, "\(failure ?? "")")
            #expect(aggregator.isRunning)
        }

        @Test("a numpy loop streams 200 steps of 3 values through clients/python/agon_client.py: run.db holds them bit for bit, the plots draw them")
        func pythonClientStreamsANumpyLoop() throws {
            let python: String
            switch PythonClientEnvironment.python {
            case .success(let path): python = path
            case .failure(let why): try Test.cancel("no Python with pyzmq and numpy: \(why)")
            }
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let run = dir + "/run", db = dir + "/run/run.db"
            let (aggregator, endpoint) = try DistributedHarness.startAggregator(runDirectory: run, renderInterval: 0.5)
            defer { aggregator.stop() }

            let script = DistributedHarness.packageRoot + "/scripts/check_python_client.py"
            let result = try Tool.run(python, [script, endpoint, "--steps", "200", "--source", "numpy-loop", "--record", dir + "/sent.tsv",
                                               "--run-db", db], timeout: 120)
            #expect(result.status == 0, "check_python_client.py exited \(result.status): \(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("python client: 200 steps, 600 values sent as numpy-loop, every event acknowledged; "),
                    "\(result.stdout)")
            let sentAt = Date()

            // A second process with the same source name is a new incarnation: it continues the
            // series (steps 201-400), and nothing of either is dropped.
            let second = try Tool.run(python, [script, endpoint, "--steps", "200", "--first-step", "201", "--source", "numpy-loop",
                                               "--seed", "8", "--run-db", db], timeout: 120)
            #expect(second.status == 0, "the second check_python_client.py exited \(second.status): \(second.stdout)\(second.stderr)")
            #expect(try RunDatabase.integer(db, "SELECT count(DISTINCT incarnation) FROM events WHERE worker = 'numpy-loop'") == 2)
            #expect(try RunDatabase.rows(db, "SELECT count(*), min(step), max(step) FROM scalars WHERE worker = 'numpy-loop' AND tag = 'g_loss'")
                    == [["400", "1", "400"]])

            // What was sent, read back with another reader: every value bit for bit (quote()
            // prints a REAL with 21 significant digits, which parse back to the same double).
            let sent = try String(contentsOfFile: dir + "/sent.tsv", encoding: .utf8).split(separator: "\n").map { line in
                line.split(separator: "\t").map(String.init)
            }
            #expect(sent.count == 600)
            let stored = try RunDatabase.rows(db, "SELECT step, tag, quote(value) FROM scalars WHERE worker = 'numpy-loop' AND step <= 200 ORDER BY step, tag")
            #expect(stored.count == 600, "\(stored.count) values stored")
            for (s, d) in zip(sent, stored) where s[0] != d[0] || s[1] != d[1] || Double(s[2])?.bitPattern != Double(d[2])?.bitPattern {
                Issue.record("sent step \(s[0]) \(s[1]) = \(s[2]), stored step \(d[0]) \(d[1]) = \(d[2])")
            }
            #expect(try RunDatabase.integer(db, "SELECT count(*) FROM scalars") == 1200, "values from another source")
            #expect(try RunDatabase.rows(db, "SELECT tag, count(*), count(DISTINCT step), min(step), max(step) FROM scalars GROUP BY tag ORDER BY tag")
                    == ["acc_real", "d_loss", "g_loss"].map { [$0, "400", "400", "1", "400"] })

            aggregator.send(SIGTERM)
            #expect(try aggregator.waitForExit(timeout: 30) == 0, "\(RunningAgon.tail(aggregator.stderr))")
            #expect(!aggregator.stderr.contains("failed"), "\(aggregator.stderr)")
            Self.expectPlots(in: run, writtenSince: sentAt)
            // The loss chart has the loop's series: larger than the chart of no data (step time).
            let size = { (chart: String) in (try? FileManager.default.attributesOfItem(atPath: "\(run)/plots/\(chart).png"))?[.size] as? Int ?? 0 }
            #expect(size("losses") > size("step_time"), "losses.png \(size("losses")) bytes, step_time.png (no data) \(size("step_time"))")
        }
    }
}
