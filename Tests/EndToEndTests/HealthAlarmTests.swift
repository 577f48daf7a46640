// Health alarms on constructed runs of the real `agon run`: a run trained on one class only
// collapses, a run whose D learns 50× faster than G is overpowered, a run with a NaN injected
// diverges; each raises its alarm and no other, in run.db, in the log and on the report, and a
// healthy run raises none.
import Foundation
import Testing

extension Distributed {
    @Suite("health alarms on constructed runs, end to end")
    struct HealthAlarmTests {
        static let classifier = DistributedHarness.packageRoot + "/models/fashion-mnist-classifier.safetensors"

        /// Two workers of the mlp GAN, seed 3: what every constructed run shares.
        static let base = ["run", "--workers", "2", "--seed", "3", "--sample-every", "500"]

        /// The runs whose quality is measured: 4,000 steps of batch 32 at a learning rate of 2e-4,
        /// enough for a healthy G's samples to spread over most classes (normalized class entropy
        /// 0.26, 0.45, 0.49, 0.77 after steps 1,000 to 4,000), measured every 1,000 steps on 300
        /// samples (0.3 s each).
        static let measured = ["--steps", "4000", "--batch", "32", "--lr", "0.0002", "--checkpoint-every", "0",
                               "--quality-every", "1000", "--quality-samples", "300", "--classifier", classifier]

        /// The alarms in run.db, as `source name@step`.
        static func alarms(_ dir: String) throws -> [String] {
            try RunDatabase.rows(dir + "/run.db", "SELECT worker, name, step FROM alarms ORDER BY step, seq").map { "\($0[0]) \($0[1])@\($0[2])" }
        }

        /// Runs `agon` with `arguments` in a fresh folder and returns the result, the alarms and the folder.
        static func run(_ arguments: [String], timeout: Double = 120) throws -> (AgonResult, alarms: [String], dir: String) {
            let dir = try AgonProcess.temporaryDirectory()
            let started = Date()
            let result = try AgonProcess.run(arguments + ["--run-dir", dir], timeout: timeout)
            print("health alarm test: agon \(arguments.joined(separator: " ")) took \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            return (result, try alarms(dir), dir)
        }

        /// The alarm's log line, its one row on the report, and nothing else on either.
        static func expectShown(_ name: String, step: Int, result: AgonResult, dir: String) throws {
            let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("aggregator: alarm ") && !$0.contains(" cleared at step ") }
            #expect(lines.count == 1 && lines[0].hasPrefix("aggregator: alarm \(name), began at step \(step): "), "\(lines)")
            let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
            #expect(html.contains("<tr><td><code>\(name)</code></td><td>\(step)</td>"), "report.html lacks the alarm")
            #expect(html.components(separatedBy: "<tr><td><code>").count == 2, "report.html shows one alarm")
        }

        @Test("a healthy run of 4,000 steps with quality measured every 1,000 raises no alarm")
        func healthyRunRaisesNone() throws {
            let (result, alarms, dir) = try Self.run(Self.base + Self.measured)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(result.status == 0, "agon run exited \(result.status): \(RunningAgon.tail(result.stderr))")
            #expect(alarms == [], "\(alarms)")
            #expect(!result.stderr.contains("aggregator: alarm "), "\(RunningAgon.tail(result.stderr))")
            // The detectors had something to look at: quality measurements and sample grids.
            #expect(try RunDatabase.integer(dir + "/run.db", "SELECT count(*) FROM scalars WHERE tag = 'quality/class_entropy'") >= 2)
            #expect(try RunDatabase.integer(dir + "/run.db", "SELECT count(*) FROM images WHERE tag = 'samples'") == 8)
            #expect(FileManager.default.fileExists(atPath: dir + "/plots/quality_fid.svg"))
            #expect(try String(contentsOfFile: dir + "/report.html", encoding: .utf8).contains("No alarms."))
        }

        // Trousers, the class the classifier never confuses: a G trained on T-shirts (class 0)
        // gives samples it reads as T-shirts and shirts, the same two-class spread as a healthy
        // G's early samples (measured: normalized class entropy 0.25 to 0.43 over 6,000 steps),
        // so only a one-class G whose class reads as one shows collapse by class entropy.
        @Test("trained on one class only (trousers): mode_collapse, and no other alarm")
        func oneClassCollapses() throws {
            let (result, alarms, dir) = try Self.run(Self.base + Self.measured + ["--classes", "1"])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(result.status == 0, "agon run exited \(result.status): \(RunningAgon.tail(result.stderr))")
            #expect(alarms.count == 1 && alarms[0].hasPrefix("aggregator mode_collapse@"), "\(alarms)")
            let step = try #require(alarms.first.flatMap { Int($0.split(separator: "@")[1]) })
            // Measured every 1,000 steps (one may be skipped while another runs); two in a row raise it.
            #expect(step % 1000 == 0 && step >= 1000 && step < 4000, "began at \(step)")
            try Self.expectShown("mode_collapse", step: step, result: result, dir: dir)
        }

        // D overpowering G drives G onto few classes too (class entropy 0.08 at step 2,000 in
        // this run, measured), which mode_collapse rightly flags once it persists: quality is off
        // here, so the run checks the one cause it constructs.
        @Test("D's learning rate 50× G's: discriminator_overpowering within the first 200 steps, and no other alarm")
        func fastDiscriminatorOverpowers() throws {
            let (result, alarms, dir) = try Self.run(Self.base + ["--steps", "1000", "--batch", "16", "--checkpoint-every", "0",
                                                                  "--quality-every", "0", "--lr", "0.0001", "--d-lr", "0.005"])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(result.status == 0, "agon run exited \(result.status): \(RunningAgon.tail(result.stderr))")
            #expect(alarms.count == 1 && alarms[0].hasPrefix("aggregator discriminator_overpowering@"), "\(alarms)")
            let step = try #require(alarms.first.flatMap { Int($0.split(separator: "@")[1]) })
            #expect((1...200).contains(step), "began at \(step)")
            try Self.expectShown("discriminator_overpowering", step: step, result: result, dir: dir)

            // An aggregator started again on the run replays run.db through its detectors and
            // raises nothing already stored.
            let (aggregator, _) = try DistributedHarness.startAggregator(runDirectory: dir)
            defer { aggregator.stop() }
            aggregator.send(SIGTERM)
            #expect(try aggregator.waitForExit(timeout: 30) == 0)
            #expect(aggregator.stderr.contains("aggregator: 1 alarm(s) already raised: discriminator_overpowering"), "\(aggregator.stderr)")
            #expect(!aggregator.stderr.contains("aggregator: alarm "), "\(aggregator.stderr)")
            #expect(try Self.alarms(dir) == alarms)
        }

        @Test("a NaN injected at step 300: non_finite_loss at 300 and no other alarm; the run stops, its last good checkpoint kept and named")
        func injectedNaNStopsTheRun() throws {
            let (result, alarms, dir) = try Self.run(Self.base + ["--steps", "1000", "--batch", "16", "--checkpoint-every", "100",
                                                                  "--quality-every", "0", "--inject-nan-at", "300"])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(result.status != 0, "a diverged run must not exit 0")
            // The last good checkpoint is one from before step 300, still there, and the error line names it.
            let latest = try #require(FileManager.default.contents(atPath: dir + "/checkpoints/latest.json"))
            let manifest = try #require(try JSONSerialization.jsonObject(with: latest) as? [String: Any])
            let file = try #require(manifest["file"] as? String), step = try #require(manifest["step"] as? Int)
            #expect(step < 300 && FileManager.default.fileExists(atPath: dir + "/checkpoints/" + file), "\(manifest)")
            let error = result.stderr.split(separator: "\n").first { $0.hasPrefix("Error: step 300:") }
            #expect(error.map { $0.contains(file) || $0.contains("checkpoint after step \(step)") } == true, "\(RunningAgon.tail(result.stderr))")
            #expect(alarms == ["aggregator non_finite_loss@300"], "\(alarms)")
            try Self.expectShown("non_finite_loss", step: 300, result: result, dir: dir)
        }
    }
}
