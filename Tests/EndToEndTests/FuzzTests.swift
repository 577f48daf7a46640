// Fuzzing both roles' ROUTER sockets with a fixed, printed seed: random frames, every message
// kind with random and extreme fields, events with values at the ends of their ranges. Then a
// real worker trains a short run through them: both must still serve it, and neither crashed.
import Foundation
import Testing

extension Distributed {
    @Suite("fuzzed messages on the aggregator's and the coordinator's ports",
           .enabled(if: RunDatabase.sqlite3 != nil, "reads run.db with the sqlite3 command (Debian package sqlite3)"))
    struct FuzzTests {
        /// The seed of every random choice; printed, so that a failure replays exactly.
        static let seed: UInt64 = 0xA60_2026
        /// How long each role is fuzzed.
        static let secondsPerRole = 12.0

        @Test("both roles survive fuzzing and then serve a well-formed worker")
        func bothRolesSurviveFuzzing() throws {
            print("FuzzTests: seed \(String(Self.seed, radix: 16))")
            let dir = try AgonProcess.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var processes: [RunningAgon] = []
            defer { processes.forEach { $0.stop() } }
            let run = dir + "/run", db = dir + "/run/run.db"
            let (aggregator, events) = try DistributedHarness.startAggregator(runDirectory: run)
            processes.append(aggregator)
            let (coordinator, endpoint) = try DistributedHarness.startCoordinator(
                runDirectory: run, ["--workers", "1", "--steps", "40", "--batch", "16", "--seed", "5", "--checkpoint-every", "0",
                                    "--sample-every", "20", "--quality-every", "0", "--aggregator", events])
            processes.append(coordinator)

            var random = Fuzzer(seed: Self.seed)
            let sentToAggregator = random.fuzz(port: try DistributedHarness.port(of: events), seconds: Self.secondsPerRole, role: .aggregator)
            let sentToCoordinator = random.fuzz(port: try DistributedHarness.port(of: endpoint), seconds: Self.secondsPerRole, role: .coordinator)
            print("FuzzTests: \(sentToAggregator) messages to the aggregator, \(sentToCoordinator) to the coordinator")
            #expect(aggregator.isRunning, "the aggregator died: \(RunningAgon.tail(aggregator.stderr))")
            #expect(coordinator.isRunning, "the coordinator died: \(RunningAgon.tail(coordinator.stderr))")

            // A well-formed client of both: a real worker trains the run and sends its events.
            let worker = try DistributedHarness.startWorker(endpoint, ["--aggregator", events], name: "worker")
            processes.append(worker)
            #expect(try coordinator.waitForExit(timeout: 90) == 0, "\(RunningAgon.tail(coordinator.stderr))")
            #expect(try worker.waitForExit(timeout: 40) == 0, "\(RunningAgon.tail(worker.stderr))")
            #expect(!worker.stderr.contains("not acknowledged"), "\(RunningAgon.tail(worker.stderr))")
            #expect(aggregator.isRunning, "the aggregator died: \(RunningAgon.tail(aggregator.stderr))")
            aggregator.send(SIGTERM)
            #expect(try aggregator.waitForExit(timeout: 30) == 0, "\(RunningAgon.tail(aggregator.stderr))")

            let steps = try RunDatabase.integer(db, "SELECT count(DISTINCT step) FROM scalars WHERE worker LIKE 'worker-%' AND tag = 'g_loss'")
            #expect(steps == 40, "the worker's steps in run.db: \(steps)")
            let refused = try RunDatabase.integer(db, "SELECT count(*) FROM refused WHERE worker = 'coordinator' OR worker LIKE 'worker-%'")
            #expect(refused == 0, "events of Agon's own sources were refused")
            let kinds = try RunDatabase.rows(db, "SELECT kind, count(*) FROM events WHERE worker = 'coordinator' GROUP BY kind ORDER BY kind")
            print("FuzzTests: the coordinator's events by kind: \(kinds)")
            // Drop lines are rate-limited: at most 100 per 10 s window, plus one count per window.
            for (name, process) in [("aggregator", aggregator), ("coordinator", coordinator)] {
                let lines = process.stderr.split(separator: "\n")
                let drops = lines.filter { $0.contains(": dropped ") || $0.contains(": refused ") }.count
                let unlogged = lines.compactMap { $0.firstMatch(of: #/(\d+) more dropped messages were not logged/#).flatMap { Int($0.1) } }.reduce(0, +)
                print("FuzzTests: \(name) logged \(drops) drop lines and left out \(unlogged)")
                let windows = Int(Self.secondsPerRole * 2 / 10) + 2
                #expect(drops <= 101 * windows, "\(name) logged \(drops) drop lines")
            }
        }
    }
}

/// Random messages for a role's ROUTER, reproducible from a seed.
struct Fuzzer {
    enum Role { case aggregator, coordinator }
    private var random: SeededBytes

    init(seed: UInt64) { random = SeededBytes(seed: seed) }

    private mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
    private mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    static let extremes: [Int64] = [0, 1, -1, .max, .min, .max - 1, 1 << 53, (1 << 53) - 1, Int64(Int32.max), Int64(Int32.min)]
    static let doubles: [Double] = [0, -0.0, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 1.7e9, -1]
    static let sizes: [Int32] = [0, -1, 1, 28, .max, .min, 8_192, 8_193]

    private mutating func string() -> [UInt8] {
        let text: [UInt8] = switch below(5) {
        case 0: []
        case 1: Array("g_loss".utf8)
        case 2: [0, 1, 0x1F, 0x7F]
        case 3: [0xFF, 0xFE, 0xC0]   // not UTF-8
        default: random.bytes(below(40))
        }
        // Sometimes a length that lies.
        let length = below(8) == 0 ? UInt32(truncatingIfNeeded: random.next()) : UInt32(text.count)
        return EventBytes.le(length) + text
    }

    /// One event with extreme fields and a payload of any code, 0 to 7.
    private mutating func event() -> [UInt8] {
        var bytes = EventBytes.le(pick(Self.extremes)) + EventBytes.le(pick(Self.extremes)) + EventBytes.le(pick(Self.doubles))
        let code = UInt8(below(8))
        bytes.append(code)
        switch code {
        case 1: bytes += EventBytes.le(Int32(below(3))) + (0..<below(3)).flatMap { _ in string() + EventBytes.le(pick(Self.doubles)) }
        case 2:
            let png: [UInt8] = below(2) == 0 ? [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
                + EventBytes.le(UInt32(28).bigEndian) + EventBytes.le(UInt32(28).bigEndian) : random.bytes(below(30))
            bytes += string() + EventBytes.le(pick(Self.sizes)) + EventBytes.le(pick(Self.sizes)) + EventBytes.le(UInt32(png.count)) + png
        case 3: bytes += string() + EventBytes.le(pick(Self.sizes)) + EventBytes.le(pick(Self.sizes))
        case 4: bytes += string() + string()
        case 5: bytes += EventBytes.le(pick(Self.extremes)) + EventBytes.le(pick(Self.extremes)) + string()
        default: bytes += random.bytes(below(12))
        }
        return bytes
    }

    /// One message: random frames, or a header of this protocol version and any kind with
    /// random or structured fields. The coordinator is never sent a join (kind 1), so that no
    /// fuzzing peer becomes a member and starts the run in the real worker's place.
    private mutating func message(for role: Role) -> [[UInt8]] {
        switch below(4) {
        case 0:
            return (0..<(1 + below(3))).map { _ in random.bytes(below(120)) }
        case 1:
            var kind = UInt8(below(16))
            if role == .coordinator && kind == 1 { kind = 6 }
            return [[3, kind] + random.bytes(below(100))] + (below(3) == 0 ? [random.bytes(4 * below(8))] : [])
        default:
            if role == .coordinator {
                // Fields of the coordinator's kinds, extreme values in each.
                let kind = pick([4, 6, 8, 11, 13] as [UInt8])
                return [[3, kind] + EventBytes.le(pick(Self.extremes)) + random.bytes(below(40)) + string()] + (kind == 4 ? [random.bytes(4 * below(16))] : [])
            }
            let count = below(6) == 0 ? Int32(truncatingIfNeeded: random.next()) : Int32(below(3))
            let header: [UInt8] = [3, 9] + string() + string() + EventBytes.le(pick(Self.extremes)) + EventBytes.le(pick(Self.extremes))
                + EventBytes.le(count)
            return [header + (0..<max(0, min(Int(count), 3))).flatMap { _ in event() }]
        }
    }

    /// Sends messages to `port` for `seconds`: connections of up to 50 messages each after a
    /// ZMTP handshake, and now and then a connection of raw noise; stops early if the port no
    /// longer answers. Returns how many messages were sent.
    mutating func fuzz(port: UInt16, seconds: Double, role: Role) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var sent = 0
        while Date() < deadline {
            // A role that stops answering ends its fuzzing; the caller then finds it dead.
            guard let socket = try? LoopbackSocket(port: port) else { break }
            if below(10) == 0 {
                socket.send(random.bytes(below(2_000)))
                continue
            }
            guard (try? socket.zmtpHandshake()) != nil else { break }
            for _ in 0..<(1 + below(50)) {
                let frames = message(for: role).map { Array($0.prefix(255)) }
                guard socket.send(LoopbackSocket.zmtpMessage(frames)) else { break }
                sent += 1
            }
        }
        return sent
    }
}
