// Training across hosts: a coordinator and two workers in three network namespaces joined by
// veth pairs, so gradients cross real TCP between different network stacks. Needs root and
// iproute2 (CI runs as root); skipped with the reason where either is missing.
import AgonNN
import Foundation
import Testing

/// Why the test cannot run here, or nil when it can.
private let namespaceUnavailable: String? = {
    guard getuid() == 0 else { return "needs root to create network namespaces" }
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
        return "needs iproute2's ip command"
    }
    let probe = "agon-probe-\(getpid())"
    defer { _ = try? shell(["ip", "netns", "del", probe]) }
    guard (try? shell(["ip", "netns", "add", probe]))?.status == 0 else { return "this machine does not allow network namespaces" }
    return nil
}()

/// Runs a command (through `env`, to find it on the PATH) to completion.
@discardableResult
private func shell(_ arguments: [String], timeout: Double = 60) throws -> (status: Int32, output: String) {
    let result = try AgonProcess.run(executable: "/usr/bin/env", arguments, timeout: timeout)
    return (result.status, result.stdout + result.stderr)
}

@Suite("training across network namespaces", .serialized)
struct NetworkNamespaceTests {
    @Test("a coordinator and two workers on three network stacks train over real TCP",
          .enabled(if: namespaceUnavailable == nil, "\(namespaceUnavailable ?? "")"))
    func acrossNamespaces() throws {
        let tag = String(getpid() % 100_000)
        let coordinatorNS = "agon-c-\(tag)", workerNS = ["agon-w1-\(tag)", "agon-w2-\(tag)"]
        let dir = try AgonProcess.temporaryDirectory()
        defer {
            for ns in [coordinatorNS] + workerNS { _ = try? shell(["ip", "netns", "del", ns]) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        // coordinator 10.231.k.1 <-veth-> worker k 10.231.k.2, one /24 per pair, nothing routed out.
        for ns in [coordinatorNS] + workerNS {
            #expect(try shell(["ip", "netns", "add", ns]).status == 0)
            #expect(try shell(["ip", "-n", ns, "link", "set", "lo", "up"]).status == 0)
        }
        for (k, ns) in workerNS.enumerated() {
            let c = "vc\(k)-\(tag)", w = "vw\(k)-\(tag)"
            for command in [["ip", "link", "add", c, "type", "veth", "peer", "name", w],
                            ["ip", "link", "set", c, "netns", coordinatorNS], ["ip", "link", "set", w, "netns", ns],
                            ["ip", "-n", coordinatorNS, "addr", "add", "10.231.\(k + 1).1/24", "dev", c],
                            ["ip", "-n", ns, "addr", "add", "10.231.\(k + 1).2/24", "dev", w],
                            ["ip", "-n", coordinatorNS, "link", "set", c, "up"], ["ip", "-n", ns, "link", "set", w, "up"]] {
                let result = try shell(command)
                try #require(result.status == 0, "\(command.joined(separator: " ")): \(result.output)")
            }
        }
        let agon = AgonProcess.binary
        let group = DispatchGroup()
        nonisolated(unsafe) var results: [(status: Int32, output: String)] = Array(repeating: (-1, ""), count: 3)
        let lock = NSLock()
        let commands: [[String]] = [
            ["ip", "netns", "exec", coordinatorNS, agon, "coordinator", "--bind", "tcp://0.0.0.0:5555", "--workers", "2",
             "--steps", "20", "--batch", "16", "--run-dir", dir],
            ["ip", "netns", "exec", workerNS[0], agon, "worker", "--coordinator", "tcp://10.231.1.1:5555", "--join-timeout", "30"],
            ["ip", "netns", "exec", workerNS[1], agon, "worker", "--coordinator", "tcp://10.231.2.1:5555", "--join-timeout", "30"],
        ]
        for (i, command) in commands.enumerated() {
            DispatchQueue.global().async(group: group) {
                let result = (try? shell(command, timeout: 120)) ?? (-1, "could not start")
                lock.lock(); results[i] = result; lock.unlock()
            }
        }
        group.wait()
        for (i, result) in results.enumerated() {
            #expect(result.status == 0, "process \(i) exited \(result.status): \(result.output)")
        }
        #expect(results[0].output.contains("run complete after 20 steps"), "\(results[0].output)")
        #expect(results[0].output.contains("warning"), "binding 0.0.0.0 without CURVE should warn: \(results[0].output)")
        let checkpoint = try SafeTensors.read(path: dir + "/checkpoints/step-00000020.safetensors")
        #expect(checkpoint.metadata["step"] == "20")
    }
}
