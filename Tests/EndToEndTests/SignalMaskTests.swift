// A stop signal never runs a handler on a thread that computes: oneDNN 2.x's JIT GEMM points
// rsp into the heap while it runs, so a handler there corrupts the heap (the restart soak's
// "corrupted size vs. prev_size" aborts). Read from the kernel's own account of each thread.
import Foundation
import Testing

extension Distributed {
    @Suite("stop signals are blocked in the threads that compute")
    struct SignalMaskTests {
        /// The signals blocked in thread `tid` of process `pid`: the `SigBlk` mask of its status.
        static func blockedSignals(pid: Int32, tid: Int32) throws -> UInt64 {
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") })
            return try #require(UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16))
        }

        /// The mask bits of SIGINT and SIGTERM (signal n is bit n − 1).
        static let stopSignals: UInt64 = 1 << (UInt64(SIGINT) - 1) | 1 << (UInt64(SIGTERM) - 1)

        /// The threads of `pid` named `name` (the main thread is named after the executable).
        static func threads(of pid: Int32, named name: String) throws -> [Int32] {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap { entry in
                let comm = try? String(contentsOfFile: "/proc/\(pid)/task/\(entry)/comm", encoding: .utf8)
                return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name ? Int32(entry) : nil
            }
        }

        @Test("a training coordinator (main and quality threads) and worker block SIGINT and SIGTERM, and still stop on them")
        func computingThreadsBlockStops() throws {
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: dir, ["--workers", "1", "--steps", "100000"] + StopTests.training + ["--quality-every", "50"])
            processes.append(coordinator)
            let worker = try DistributedHarness.startWorker(endpoint, name: "worker")
            processes.append(worker)
            try coordinator.waitForProgress("step ≥ 10", timeout: 60) { $0.step >= 10 }

            for (process, role) in [(coordinator, "coordinator"), (worker, "worker")] {
                let mask = try Self.blockedSignals(pid: process.pid, tid: process.pid)
                #expect(mask & Self.stopSignals == Self.stopSignals, "\(role)'s main thread blocks \(String(mask, radix: 16))")
            }
            for tid in try Self.threads(of: coordinator.pid, named: "agon quality") {
                let mask = try Self.blockedSignals(pid: coordinator.pid, tid: tid)
                #expect(mask & Self.stopSignals == Self.stopSignals, "the quality thread blocks \(String(mask, radix: 16))")
            }
            try StopTests.stop(worker, with: SIGINT, "worker SIGINT, stop signals blocked")
            try StopTests.stop(coordinator, with: SIGTERM, "coordinator SIGTERM, stop signals blocked")
        }
    }
}
