// Logs a cluster can collect, from the real binaries: one JSON object per line with the role,
// rank and step (`--log-format json`), levels that hide what is below them (`--log-level`),
// and the progress lines of a coordinator and an aggregator started by hand.
import Foundation
import Testing

extension Distributed {
    @Suite("logs a cluster can collect")
    struct LoggingTests {
        /// Every line of `stderr` as a JSON object; a line that is not one fails the test.
        static func records(_ stderr: String, from what: String) -> [[String: Any]] {
            stderr.split(separator: "\n").compactMap { line in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object != nil, "\(what): a line of standard error is not a JSON object: \(line)")
                return object
            }
        }

        /// RFC 3339 in UTC, as a log collector parses it.
        static func time(of record: [String: Any]) -> Date? {
            guard let text = record["time"] as? String,
                  text.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil else { return nil }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.date(from: text)
        }

        @Test("agon run --log-format json: every line of every process is one JSON object with time, level, role and message; rank and step where known")
        func jsonRun() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let result = try AgonProcess.run(["run", "--workers", "2", "--steps", "20", "--batch", "16", "--seed", "21",
                                              "--log-format", "json", "--run-dir", dir + "/run"], timeout: 90)
            #expect(result.status == 0, "agon run exited \(result.status): \(result.stderr)")
            let records = Self.records(result.stderr, from: "agon run")
            #expect(records.count >= 10, "too few lines: \(result.stderr)")
            for record in records {
                #expect(Self.time(of: record) != nil, "no RFC 3339 UTC time: \(record)")
                #expect(["debug", "info", "warning", "error"].contains(record["level"] as? String ?? ""), "level: \(record)")
                #expect(["run", "coordinator", "worker", "aggregator"].contains(record["role"] as? String ?? ""), "role: \(record)")
                #expect((record["message"] as? String)?.isEmpty == false, "message: \(record)")
            }
            // Each process of the run spoke, and the roles that know where they are say so.
            #expect(Set(records.compactMap { $0["role"] as? String }) == ["run", "coordinator", "worker", "aggregator"])
            let workerSteps = records.filter { $0["role"] as? String == "worker" && $0["step"] != nil }
            #expect(Set(workerSteps.compactMap { $0["rank"] as? Int }) == [0, 1], "worker records with rank and step: \(workerSteps)")
            #expect(workerSteps.contains { $0["step"] as? Int == 20 && ($0["message"] as? String)?.contains("run is complete") == true })
            #expect(records.contains { $0["role"] as? String == "coordinator" && $0["step"] as? Int == 20
                                       && ($0["message"] as? String)?.contains("run complete after 20 steps") == true })
            #expect(!records.contains { $0["role"] as? String == "coordinator" && $0["rank"] != nil }, "a coordinator has no rank")
        }

        @Test("--log-level warning hides the info lines, text or JSON, and lets a warning through")
        func levels() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let train = ["train", "--steps", "20", "--batch", "16", "--sample-every", "10", "--checkpoint-every", "10"]
            let info = try AgonProcess.run(train + ["--run-dir", dir + "/info"])
            #expect(info.status == 0, "\(info.stderr)")
            #expect(info.stderr.contains("done: 20 steps"), "the info lines this test hides are not there: \(info.stderr)")
            let quiet = try AgonProcess.run(train + ["--run-dir", dir + "/quiet", "--log-level", "warning"])
            #expect(quiet.status == 0, "\(quiet.stderr)")
            #expect(quiet.stderr.isEmpty, "info lines at --log-level warning: \(quiet.stderr)")

            // A coordinator open to other machines without CURVE warns, then fails on its data.
            let coordinator = try AgonProcess.run(["coordinator", "--bind", "tcp://0.0.0.0:*", "--run-dir", dir + "/coordinator",
                                                   "--data", dir + "/no-data", "--log-level", "warning", "--log-format", "json"])
            #expect(coordinator.status == 1, "\(coordinator.stderr)")
            let records = Self.records(coordinator.stderr, from: "agon coordinator")
            #expect(records.map { $0["level"] as? String ?? "" } == ["warning", "error"], "\(coordinator.stderr)")
            #expect((records.first?["message"] as? String)?.contains("CURVE is off") == true, "\(coordinator.stderr)")
            #expect((records.last?["message"] as? String)?.hasPrefix("Error: ") == true, "\(coordinator.stderr)")
            #expect(records.allSatisfy { $0["role"] as? String == "coordinator" }, "\(coordinator.stderr)")
        }

        // Each also has a second mistake that validation finds after parsing: were the value
        // taken, the command would fail on that one (naming another option), not start a run.
        @Test("a bad --log-format or --log-level: exit 64 and one Error: line naming it", arguments: [
            ["worker", "--coordinator", "tcp://127.0.0.1:1", "--join-timeout", "0", "--log-format", "xml"],
            ["aggregator", "--render-interval", "0", "--log-level", "loud"],
            ["run", "--workers", "0", "--log-format", "JSON"],
        ])
        func badOption(arguments: [String]) throws {
            let result = try AgonProcess.run(arguments, timeout: 30)
            #expect(result.status == 64, "exit \(result.status): \(result.stderr)")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            #expect(errors.count == 1, "\(result.stderr)")
            #expect(errors.first?.contains("'\(arguments.last!)'") == true && errors.first?.contains(arguments[arguments.count - 2]) == true,
                    "\(result.stderr)")
        }

        @Test("a coordinator and an aggregator started by hand: progress lines at a steady interval, sources connecting and leaving")
        func progressByHand() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let aggregator = try AgonProcess.start(["aggregator", "--bind", "tcp://127.0.0.1:*", "--run-dir", dir,
                                                    "--progress-every", "0.5", "--log-format", "json"], name: "aggregator")
            defer { aggregator.stop() }
            try aggregator.waitForLog("aggregator: listening on", timeout: 30)
            let events = try Self.endpoint(in: dir + "/aggregator.json")
            let coordinator = try AgonProcess.start(["coordinator", "--bind", "tcp://127.0.0.1:*", "--run-dir", dir, "--workers", "1",
                                                     "--steps", "400", "--batch", "16", "--seed", "22", "--quality-every", "0",
                                                     "--sample-every", "1000", "--checkpoint-every", "0", "--aggregator", events,
                                                     "--progress-every", "0.5", "--log-format", "json"], name: "coordinator")
            defer { coordinator.stop() }
            try coordinator.waitForLog("coordinator: listening on", timeout: 30)
            let worker = try DistributedHarness.startWorker(try Self.endpoint(in: dir + "/coordinator.json"), ["--aggregator", events],
                                                            name: "worker")
            defer { worker.stop() }
            #expect(try coordinator.waitForExit(timeout: 90) == 0, "\(coordinator.stderr)")
            #expect(try worker.waitForExit(timeout: 30) == 0, "\(worker.stderr)")

            // Step, samples/s, ETA and workers, every 0.5 s (and once at the last step).
            let progress = Self.records(coordinator.stderr, from: "coordinator").filter {
                ($0["message"] as? String)?.hasPrefix("coordinator: step ") == true
            }
            let messages = progress.compactMap { $0["message"] as? String }
            #expect(messages.count >= 2, "\(coordinator.stderr)")
            #expect(messages.allSatisfy { $0.contains("/400") && $0.contains("samples/s") && $0.contains("ETA") && $0.hasSuffix("workers 1") },
                    "\(messages)")
            #expect(messages.last?.hasPrefix("coordinator: step 400/400") == true, "\(messages)")
            // The rate behind the ETA counts from the first step, not from the wait for workers.
            for message in messages.dropLast() {
                let eta = try #require(message.firstMatch(of: /ETA (\d+)s/).flatMap { Int($0.1) }, "\(message)")
                #expect(eta < 120, "an ETA of \(eta) s for a run of seconds: \(message)")
            }
            let times = progress.dropLast().compactMap(Self.time(of:))
            for (earlier, later) in zip(times, times.dropFirst()) {
                #expect(later.timeIntervalSince(earlier) >= 0.45, "progress lines closer than the interval: \(messages)")
            }
            for record in progress {
                let step = try #require(record["step"] as? Int, "no step: \(record)")
                #expect((record["message"] as? String)?.hasPrefix("coordinator: step \(step)/") == true, "the record's step is not the line's: \(record)")
            }

            // The aggregator: both sources connect, their events are counted, and when the run
            // is over they go quiet and are said to have left (after 3 intervals).
            try aggregator.waitForLog("aggregator: source worker-0 left", timeout: 10)
            try aggregator.waitForLog("aggregator: source coordinator left", timeout: 10)
            let lines = Self.records(aggregator.stderr, from: "aggregator").compactMap { $0["message"] as? String }
            #expect(lines.contains("aggregator: source coordinator connected"), "\(lines)")
            #expect(lines.contains("aggregator: source worker-0 connected"), "\(lines)")
            #expect(lines.contains { $0.contains("event(s) stored in the last 0.5 s from 2 source(s)") }, "\(lines)")
        }

        static func endpoint(in file: String) throws -> String {
            let data = try #require(FileManager.default.contents(atPath: file))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return try #require(object["endpoint"] as? String)
        }
    }
}
