// Sample quality measured during `agon run`: the coordinator's `quality/…` events reach run.db
// at the steps asked for, with finite, plausible values, and a missing classifier turns
// quality off with one line while training goes on.
import Foundation
import Testing

extension Distributed {
    @Suite("quality during agon run, end to end")
    struct QualityDuringRunTests {
        static let classifier = DistributedHarness.packageRoot + "/models/fashion-mnist-classifier.safetensors"
        static let tags = ["quality/class_entropy", "quality/coverage", "quality/density", "quality/fid", "quality/inception_score",
                           "quality/kid", "quality/missing_classes", "quality/precision", "quality/recall"]

        @Test("agon run --quality-every K sends every quality tag at steps K, 2K, … and after the last step",
              .enabled(if: FileManager.default.fileExists(atPath: classifier), "needs the committed classifier"))
        func qualityEventsArrive() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let result = try AgonProcess.run(["run", "--workers", "2", "--steps", "90", "--batch", "16", "--seed", "21",
                                              "--sample-every", "1000", "--checkpoint-every", "0",
                                              "--quality-every", "40", "--quality-samples", "200",
                                              "--classifier", Self.classifier, "--run-dir", dir], timeout: 300)
            #expect(result.status == 0, "agon run exited \(result.status): \(RunningAgon.tail(result.stderr))")

            let rows = try RunDatabase.rows(dir + "/run.db",
                                            "SELECT step, tag, value FROM scalars WHERE worker = 'coordinator' AND tag LIKE 'quality/%' ORDER BY step, tag")
            var byStep: [Int: [String: Double]] = [:]
            for row in rows {
                let step = try #require(Int(row[0])), value = try #require(Double(row[2]), "\(row) has no number")
                byStep[step, default: [:]][row[1]] = value
            }
            // A measurement due while the one before runs is skipped, and says so; the last never is.
            let skipped = Set([40, 80].filter { result.stderr.contains("quality after step \($0) skipped") })
            #expect(Set(byStep.keys).union(skipped) == [40, 80, 90], "measured at \(byStep.keys.sorted()), skipped \(skipped)")
            #expect(byStep[90] != nil, "no measurement after the last step: \(RunningAgon.tail(result.stderr))")
            for (step, values) in byStep {
                #expect(values.keys.sorted() == Self.tags, "step \(step)")
                for (tag, value) in values { #expect(value.isFinite, "\(tag) at step \(step) is \(value)") }
                #expect(values["quality/fid"]! > 0)
                for tag in ["quality/precision", "quality/recall", "quality/coverage", "quality/class_entropy"] {
                    #expect((0...1).contains(values[tag]!), "\(tag) at step \(step) is \(values[tag]!)")
                }
                #expect(values["quality/density"]! >= 0)
                #expect((1...10).contains(values["quality/inception_score"]!))
                let missing = values["quality/missing_classes"]!
                #expect(missing == missing.rounded() && (0...9).contains(missing))
            }
            #expect(result.stderr.contains("coordinator: quality after step 90: FID"))
        }

        @Test("a missing classifier: one line says quality is off, and the run completes")
        func missingClassifier() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let result = try AgonProcess.run(["run", "--workers", "1", "--steps", "10", "--batch", "16", "--quality-every", "5",
                                              "--classifier", dir + "/none.safetensors", "--run-dir", dir], timeout: 300)
            #expect(result.status == 0, "agon run exited \(result.status): \(RunningAgon.tail(result.stderr))")
            let off = result.stderr.split(separator: "\n").filter { $0.contains("quality measurements are off") }
            #expect(off.count == 1 && off[0].contains(dir + "/none.safetensors"), "\(result.stderr)")
            #expect(try RunDatabase.integer(dir + "/run.db", "SELECT count(*) FROM scalars WHERE tag LIKE 'quality/%'") == 0)
        }
    }
}
