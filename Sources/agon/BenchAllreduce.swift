// `agon bench allreduce`: the time of one averaging round on loopback: N worker processes send
// their gradients, the averager sums them in rank order, scales, and sends the mean back to
// each, as the coordinator does, with the same messages. Over tcp or ipc the values travel in
// the messages; over shm (the shared-memory lane workers on the coordinator's machine use) they
// are in segments and the messages carry only headers. A round is timed where
// torch.distributed times all_reduce: in a worker, from its send to the mean in its memory.
import AgonTensor
import AgonTraining
import AgonWire
import ArgumentParser
import Foundation

struct BenchAllreduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Median time of one averaging round (gradients in, mean out) with N worker processes on loopback.",
        discussion: "Without --workers/--floats, measures 2 and 4 workers with 214,673 floats (the MLP GAN) and 2,518,337 (the DCGAN), over tcp and over shm unless --transport is given.")

    @Option(help: "Worker processes (with --floats).")
    var workers: Int?

    @Option(help: "Floats per gradient vector.")
    var floats: Int?

    @Option(help: "Timed rounds, after 5 untimed ones.")
    var rounds: Int = 50

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "tcp (loopback), ipc (a Unix socket) or shm (the shared-memory lane, messages over tcp).")
    var transport: String?

    @Option(help: .hidden)
    var worker: String?

    @Option(help: .hidden)
    var rank: Int = 0

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let floats, floats < 1 { throw ValidationError("--floats must be at least 1") }
        if let transport, !["tcp", "ipc", "shm"].contains(transport) {
            throw ValidationError("--transport must be tcp, ipc or shm, got \(transport)")
        }
    }

    func run() throws {
        if let worker {
            try runWorker(endpoint: worker, floats: floats ?? 1, shared: transport == "shm")
            return
        }
        let cases = workers.map { w in [(w, floats ?? 214_673)] } ?? [(2, 214_673), (4, 214_673), (2, 2_518_337), (4, 2_518_337)]
        let transports = transport.map { [$0] } ?? ["tcp", "shm"]
        for (w, f) in cases {
            for t in transports {
                let median = try measure(workers: w, floats: f, transport: t)
                if json {
                    print(String(format: #"{"workers":%d,"floats":%d,"transport":"%@","median_us":%.1f}"#, w, f, t, median * 1e6))
                } else {
                    print(String(format: "%d workers, %d floats, %@: %.3f ms per averaging round (median of %d)", w, f, t, median * 1e3, rounds))
                }
            }
        }
    }

    /// Runs the averager here and `workers` children; returns rank 0's median round, seconds.
    private func measure(workers: Int, floats: Int, transport: String) throws -> Double {
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
            child.arguments = ["bench", "allreduce", "--worker", endpoint, "--rank", String(r), "--floats", String(floats),
                               "--rounds", String(rounds), "--transport", transport, "--workers", String(workers)]
            if r == 0 { child.standardOutput = report }
            try child.run()
            children.append(child)
        }
        // The shared-memory lane: each worker offers its segment; the answers name the mean's.
        let meanSegment = transport == "shm" ? try SharedSegment.create(role: "coordinator", count: floats) : nil
        defer { meanSegment?.unlink() }
        var lanes: [[UInt8]: SharedSegment] = [:]
        var sum = [Float](repeating: 0, count: floats)
        for round in 0..<(rounds + 5) {
            var peers = [[UInt8]](repeating: [], count: workers)
            var received = 0
            var contributions = [[Float]](repeating: [], count: workers)
            var shared = [SharedSegment?](repeating: nil, count: workers)
            while received < workers {
                guard let frames = try socket.receive(timeoutMilliseconds: 30_000) else {
                    throw RuntimeError("bench allreduce: a worker stopped answering")
                }
                switch try WireMessage.decode(Array(frames.dropFirst())) {
                case .gradients(let g):
                    contributions[Int(g.rank)] = g.values
                    peers[Int(g.rank)] = frames[0]
                case .sharedGradients(let g):
                    peers[Int(g.rank)] = frames[0]
                    shared[Int(g.rank)] = lanes[frames[0]]
                case .sharedMemoryOffer(let offer):
                    guard let meanSegment else { continue }
                    let lane = try SharedSegment.open(path: offer.path, token: offer.token, count: floats)
                    lanes[frames[0]] = lane
                    try socket.send(.sharedMemoryAnswer(.accepted(path: meanSegment.path, token: meanSegment.token, count: Int64(floats))),
                                    to: frames[0])
                    continue
                default:
                    continue
                }
                received += 1
            }
            // The coordinator's average: summed in rank order, then scaled.
            func average(into s: UnsafeMutablePointer<Float>) {
                if shared.allSatisfy({ $0 != nil }) {
                    Elementwise.mean(of: shared.map { $0!.readableValues }, into: s, count: floats)
                } else {
                    Elementwise.mean(of: contributions, into: s, count: floats)
                }
            }
            if let meanSegment {
                let sequence = meanSegment.publish(average)
                for (r, peer) in peers.enumerated() {
                    try socket.send(.sharedParameters(Parameters(step: Int64(round), phase: 3, rank: Int32(r), world: Int32(workers),
                                                                 epoch: 0, epochStart: 0, values: []), sequence: sequence), to: peer)
                }
            } else {
                sum.withUnsafeMutableBufferPointer { average(into: $0.baseAddress!) }
                for (r, peer) in peers.enumerated() {
                    try socket.send(.parameters(Parameters(step: Int64(round), phase: 3, rank: Int32(r), world: Int32(workers),
                                                           epoch: 0, epochStart: 0, values: sum)), to: peer)
                }
            }
        }
        let line = String(decoding: report.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        for child in children { child.waitUntilExit() }
        guard let median = Double(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw RuntimeError("bench allreduce: worker 0 reported no timing")
        }
        return median
    }

    /// A worker: sends a gradient vector and waits for the mean, `rounds + 5` times. Over the
    /// shared-memory lane it first offers its segment, then writes its values there each round
    /// and reads the mean from the averager's segment, as a worker packs and unpacks.
    private func runWorker(endpoint: String, floats: Int, shared: Bool) throws {
        let context = try WireContext()
        let socket = try WireSocket(context, kind: .dealer)
        defer { socket.close() }
        try socket.connect(endpoint)
        let rank = self.rank   // a property wrapper's getter is too slow to call per element
        let values = (0..<floats).map { Float(($0 + rank) % 7) }
        var mean = [Float](repeating: 0, count: floats)
        var lane: (gradients: SharedSegment, mean: SharedSegment)?
        if shared {
            let segment = try SharedSegment.create(role: "worker", count: floats)
            defer { segment.unlink() }
            try socket.send(.sharedMemoryOffer(SharedMemoryOffer(path: segment.path, token: segment.token, count: Int64(floats))))
            guard let frames = try socket.receive(timeoutMilliseconds: 30_000),
                  case .sharedMemoryAnswer(let answer) = try WireMessage.decode(frames), answer.accepted else {
                throw RuntimeError("bench allreduce worker \(rank): the averager did not accept shared memory")
            }
            lane = (segment, try SharedSegment.open(path: answer.path, token: answer.token, count: floats))
        }
        let clock = ContinuousClock()
        var times: [Double] = []
        for round in 0..<(rounds + 5) {
            let start = clock.now
            var gradients = Gradients(step: Int64(round), phase: 3, rank: Int32(rank), generatorLoss: 0, discriminatorLoss: 0, values: [])
            if let lane {
                values.withUnsafeBufferPointer { lane.gradients.values.update(from: $0.baseAddress!, count: floats) }
                try socket.send(.sharedGradients(gradients))
            } else {
                gradients.values = values
                try socket.send(.gradients(gradients))
            }
            guard let frames = try socket.receive(timeoutMilliseconds: 30_000) else {
                throw RuntimeError("bench allreduce worker \(rank): no answer from \(endpoint)")
            }
            switch try WireMessage.decode(frames) {
            case .parameters(let p) where p.values.count == floats:
                mean = p.values
            case .sharedParameters(_, let sequence) where lane != nil:
                let whole = mean.withUnsafeMutableBufferPointer { out in
                    lane!.mean.read(atSequence: sequence) { out.baseAddress!.update(from: $0, count: floats) }
                }
                guard whole else { throw RuntimeError("bench allreduce worker \(rank): the mean was overwritten while read") }
            default:
                throw RuntimeError("bench allreduce worker \(rank): a wrong reply from \(endpoint)")
            }
            if round >= 5 { times.append((clock.now - start).seconds) }
        }
        if let workers {   // value 0 of rank r is r % 7: the mean is their sum scaled, as averaged
            let expected = Float((0..<workers).map { $0 % 7 }.reduce(0, +)) * (1 / Float(workers))
            guard mean[0] == expected else {
                throw RuntimeError("bench allreduce worker \(rank): the mean's first value is \(mean[0]), not \(expected)")
            }
        }
        times.sort()
        if rank == 0 { print(times[times.count / 2]) }
    }
}
