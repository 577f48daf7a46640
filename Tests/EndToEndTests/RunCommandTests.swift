// `agon run` as a user runs it: a whole run on one machine that leaves checkpoints and sample
// grids, stops every process it started on SIGTERM, and refuses bad flags with exit 64.
import AgonNN
import Foundation
import Testing

extension Distributed {
    @Suite("agon run, end to end")
    struct RunCommandTests {
        @Test("agon run --workers 2 trains to the end and leaves checkpoints and sample grids")
        func runLeavesCheckpointsAndSamples() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let result = try AgonProcess.run(["run", "--workers", "2", "--steps", "30", "--batch", "16", "--seed", "13",
                                              "--sample-every", "10", "--checkpoint-every", "20", "--run-dir", dir], timeout: 60)
            #expect(result.status == 0, "agon run exited \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("agon run: done; checkpoints in \(dir)/checkpoints"), "\(result.stderr)")

            let fm = FileManager.default
            let checkpoints = try fm.contentsOfDirectory(atPath: dir + "/checkpoints").sorted()
            #expect(checkpoints == ["latest.json", "step-00000020.safetensors", "step-00000030.safetensors"])
            let last = try SafeTensors.read(path: dir + "/checkpoints/step-00000030.safetensors")
            #expect(last.metadata["step"] == "30")
            #expect(last["g/0_dense/kernel"]?.shape == [100, 128])
            #expect(last["optimizer/d/2_dense/kernel/v"]?.shape == [128, 1])

            let samples = try fm.contentsOfDirectory(atPath: dir + "/samples").sorted()
            #expect(samples == ["step-00000010.png", "step-00000020.png", "step-00000030.png", "timeline.png"])
            for name in samples {
                let png = try #require(fm.contents(atPath: dir + "/samples/" + name))
                #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(name) is not a PNG")
            }
        }

        @Test("SIGTERM mid-run: agon run exits 130 within seconds and leaves no coordinator or worker behind")
        func sigtermStopsEveryProcess() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let run = try AgonProcess.start(["run", "--workers", "2", "--steps", "100000", "--batch", "16", "--seed", "14",
                                             "--checkpoint-every", "0", "--sample-every", "100000", "--run-dir", dir],
                                            name: "agon run", watchdog: 60)
            var endpoint: String?
            defer {
                run.stop()
                // Whatever outlived it, by pid: the coordinator names the run folder, the workers the endpoint.
                let leftovers = ProcessTable.processes(mentioning: dir) + (endpoint.map { ProcessTable.processes(mentioning: $0) } ?? [])
                for process in leftovers { kill(process.pid, SIGKILL) }
            }

            // Without a terminal, agon run prints its first progress line at once.
            try run.waitUntil("a progress line", timeout: 60) { _, err in err.contains(#/step \d+/100000 /#) }
            let data = try #require(FileManager.default.contents(atPath: dir + "/coordinator.json"))
            endpoint = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["endpoint"] as? String)
            let children = ProcessTable.children(of: run.pid)
            #expect(children.count == 4, "agon run should have an aggregator, a coordinator and 2 workers as children, has \(children)")
            #expect(ProcessTable.processes(mentioning: dir).filter { $0.pid != run.pid }.count == 4,
                    "every child's command line names the run folder (the workers' through their spool folder in it)")
            #expect(ProcessTable.processes(mentioning: endpoint!).count == 2, "the workers' command lines name the endpoint")

            let signalled = Date()
            run.send(SIGTERM)
            let status = try run.waitForExit(timeout: 20)
            let took = Date().timeIntervalSince(signalled)
            #expect(status == 130, "agon run exited \(status) on SIGTERM: \(RunningAgon.tail(run.stderr))")
            #expect(took < 6, "agon run took \(took) s to stop")
            #expect(run.stderr.contains("agon run: stopping every process"))

            // agon run reaps its children before it exits, so none may be left, not even a zombie.
            for pid in children {
                #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"), "child \(pid) of agon run is still there")
            }
            #expect(ProcessTable.processes(mentioning: dir).isEmpty, "\(ProcessTable.processes(mentioning: dir))")
            #expect(ProcessTable.processes(mentioning: endpoint!).isEmpty, "\(ProcessTable.processes(mentioning: endpoint!))")
        }

        @Test("kill -9 agon run: its aggregator, coordinator and workers notice they are orphans and exit within seconds")
        func orphansStopThemselves() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let run = try AgonProcess.start(["run", "--workers", "2", "--steps", "100000", "--batch", "16", "--seed", "15",
                                             "--checkpoint-every", "0", "--sample-every", "100000", "--run-dir", dir],
                                            name: "agon run", watchdog: 60)
            var endpoint = "tcp://unknown"
            func leftovers() -> [(pid: Int32, commandLine: String)] {
                var seen = Set<Int32>()
                return (ProcessTable.processes(mentioning: dir) + ProcessTable.processes(mentioning: endpoint))
                    .filter { $0.pid != run.pid && seen.insert($0.pid).inserted }
            }
            defer {
                run.stop()
                for process in leftovers() { kill(process.pid, SIGKILL) }
            }

            try run.waitUntil("a progress line", timeout: 60) { _, err in err.contains(#/step \d+/100000 /#) }
            let data = try #require(FileManager.default.contents(atPath: dir + "/coordinator.json"))
            endpoint = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["endpoint"] as? String)
            #expect(leftovers().count == 4, "expected an aggregator, a coordinator and 2 workers: \(leftovers())")

            run.send(SIGKILL)
            #expect(try run.waitForExit(timeout: 10) == 128 + SIGKILL)
            // Nothing signals the orphans' end to this process, so it watches /proc for it.
            try DistributedHarness.waitUntil("agon run's children gone", timeout: 10) { leftovers().isEmpty }
        }

        @Test("a bad flag: exit 64 with one Error line, and nothing started",
              arguments: [["--workers", "0"], ["--no-such-flag"], ["--batch", "0"], ["--step-deadline"], ["--model", "nope"]])
        func badFlag(arguments: [String]) throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let result = try AgonProcess.run(["run", "--steps", "1", "--run-dir", dir + "/run"] + arguments, timeout: 30)
            #expect(result.status == 64, "exit \(result.status): \(result.stderr)")
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
            #expect(errors.count == 1, "expected one Error line, got: \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/run"), "agon run made its run folder before rejecting its flags")
        }
    }
}
