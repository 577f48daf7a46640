// `agon bench allreduce`: the time of one averaging round over ZeroMQ on loopback: N worker
// processes send their gradients, the averager sums them in rank order, scales, and sends the
// mean back to each, as the coordinator does, with the same messages. A round is timed where
// torch.distributed times all_reduce: in a worker, from its send to the mean's arrival.
import AgonTensor
import AgonTraining
import AgonWire
import ArgumentParser
import Foundation

struct BenchAllreduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Median time of one averaging round (gradients in, mean out) with N worker processes on loopback.",
        discussion: "Without --workers/--floats, measures 2 and 4 workers with 214,673 floats (the MLP GAN) and 2,518,337 (the DCGAN).")

    @Option(help: "Worker processes (with --floats).")
    var workers: Int?

    @Option(help: "Floats per gradient vector.")
    var floats: Int?

    @Option(help: "Timed rounds, after 5 untimed ones.")
    var rounds: Int = 50

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "tcp (loopback) or ipc (a Unix socket).")
    var transport: String = "tcp"


    @Option(help: .hidden)
    var worker: String?

    @Option(help: .hidden)
    var rank: Int = 0

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let floats, floats < 1 { throw ValidationError("--floats must be at least 1") }
        guard ["tcp", "ipc"].contains(transport) else { throw ValidationError("--transport must be tcp or ipc, got \(transport)") }
    }

    func run() throws {
        if let worker {
            try runWorker(endpoint: worker, floats: floats ?? 1)
            return
        }
        let cases = workers.map { w in [(w, floats ?? 214_673)] } ?? [(2, 214_673), (4, 214_673), (2, 2_518_337), (4, 2_518_337)]
        for (w, f) in cases {
            let median = try measure(workers: w, floats: f)
            if json {
                print(String(format: #"{"workers":%d,"floats":%d,"median_us":%.1f}"#, w, f, median * 1e6))
            } else {
                print(String(format: "%d workers, %d floats: %.3f ms per averaging round (median of %d)", w, f, median * 1e3, rounds))
            }
        }
    }

    /// Runs the averager here and `workers` children; returns rank 0's median round, seconds.
    private func measure(workers: Int, floats: Int) throws -> Double {
        let context = try WireContext()
        var options = WireSocket.Options()
        options.routerMandatory = true
        let socket = try WireSocket(context, kind: .router, options: options)
        defer { socket.close() }
        let endpoint = try socket.bind(transport == "ipc" ? "ipc:///tmp/agon-bench-allreduce-\(getpid()).sock" : "tcp://127.0.0.1:*")
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var children: [Process] = []
        defer { for child in children where child.isRunning { child.terminate() } }
        let report = Pipe()
        for r in 0..<workers {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = ["bench", "allreduce", "--worker", endpoint, "--rank", String(r), "--floats", String(floats), "--rounds", String(rounds)]
            if r == 0 { child.standardOutput = report }
            try child.run()
            children.append(child)
        }
        var sum = [Float](repeating: 0, count: floats)
        for round in 0..<(rounds + 5) {
            var peers = [[UInt8]](repeating: [], count: workers)
            var received = 0
            sum.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            var contributions = [[Float]](repeating: [], count: workers)
            while received < workers {
                guard let frames = try socket.receive(timeoutMilliseconds: 30_000) else {
                    throw ValidationError("bench allreduce: a worker stopped answering")
                }
                guard case .gradients(let g) = try WireMessage.decode(Array(frames.dropFirst())) else { continue }
                peers[Int(g.rank)] = frames[0]
                contributions[Int(g.rank)] = g.values
                received += 1
            }
            // The coordinator's average: summed in rank order, then scaled.
            sum.withUnsafeMutableBufferPointer { s in
                for values in contributions {
                    values.withUnsafeBufferPointer { Elementwise.add($0.baseAddress!, into: s.baseAddress!, count: floats) }
                }
                Elementwise.scale(s.baseAddress!, by: 1 / Float(workers), count: floats)
            }
            for (r, peer) in peers.enumerated() {
                try socket.send(.parameters(Parameters(step: Int64(round), phase: 3, rank: Int32(r), world: Int32(workers),
                                                       epoch: 0, epochStart: 0, values: sum)), to: peer)
            }
        }
        let line = String(decoding: report.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        for child in children { child.waitUntilExit() }
        guard let median = Double(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("bench allreduce: worker 0 reported no timing")
        }
        return median
    }

    /// A worker: sends a gradient vector and waits for the mean, `rounds + 5` times.
    private func runWorker(endpoint: String, floats: Int) throws {
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        defer { socket.close() }
        try socket.connect(endpoint)
        let rank = self.rank   // a property wrapper's getter is too slow to call per element
        let values = (0..<floats).map { Float(($0 + rank) % 7) }
        let clock = ContinuousClock()
        var times: [Double] = []
        for round in 0..<(rounds + 5) {
            let start = clock.now
            try socket.send(.gradients(Gradients(step: Int64(round), phase: 3, rank: Int32(rank), generatorLoss: 0,
                                                 discriminatorLoss: 0, values: values)))
            guard let frames = try socket.receive(timeoutMilliseconds: 30_000) else {
                throw ValidationError("bench allreduce worker \(rank): no answer from \(endpoint)")
            }
            guard case .parameters(let mean) = try WireMessage.decode(frames), mean.values.count == floats else {
                throw ValidationError("bench allreduce worker \(rank): a wrong reply from \(endpoint)")
            }
            if round >= 5 { times.append((clock.now - start).seconds) }
        }
        times.sort()
        if rank == 0 { print(times[times.count / 2]) }
    }
}
