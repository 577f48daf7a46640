// What the distributed end-to-end suites share: the parent suite that runs them one test at a
// time, a coordinator started on a free loopback port, its progress lines, the process table,
// and a plain TCP socket for sending a port bytes that are not ZeroMQ.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The suites that start coordinators and workers. Serialized, nested suites included: their
/// processes compete for the same two cores, and heartbeats measure time.
@Suite("distributed runs, end to end", .serialized,
       .enabled(if: haveData, "needs the dataset-fashion-mnist Debian package"))
enum Distributed {}

/// Starting the real processes of a distributed run.
enum DistributedHarness {
    /// Starts `agon coordinator` on `bind` in `runDirectory` with `arguments` (training flags
    /// and the like), waits until it listens, and returns it with the endpoint it bound. Without
    /// `latentViews` it draws none at the end (seconds a test of something else need not spend).
    static func startCoordinator(runDirectory: String, bind: String = "tcp://127.0.0.1:*", _ arguments: [String],
                                 name: String = "coordinator", latentViews: Bool = false, watchdog: Double = 90) throws -> (RunningAgon, endpoint: String) {
        let coordinator = try AgonProcess.start(["coordinator", "--bind", bind, "--run-dir", runDirectory, "--progress-json"] + arguments
                                                + (latentViews ? [] : ["--no-latent-views"]),
                                                name: name, watchdog: watchdog)
        do {
            // coordinator.json is written before this line is logged.
            try coordinator.waitForLog("coordinator: listening on", timeout: 30)
            let data = try #require(FileManager.default.contents(atPath: runDirectory + "/coordinator.json"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let endpoint = try #require(object["endpoint"] as? String)
            #expect(object["pid"] as? Int == Int(coordinator.pid))
            return (coordinator, endpoint)
        } catch {
            coordinator.stop()
            throw error
        }
    }

    /// Starts `agon worker --coordinator endpoint arguments…`.
    static func startWorker(_ endpoint: String, _ arguments: [String] = [], name: String, watchdog: Double = 90) throws -> RunningAgon {
        try AgonProcess.start(["worker", "--coordinator", endpoint] + arguments, name: name, watchdog: watchdog)
    }

    /// Waits until `condition` holds, checking every 50 ms, for what no pipe or exit announces
    /// (the end of a process this one did not start).
    static func waitUntil(_ what: String, timeout: Double, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw AgonWaitError(description: "no \(what) within \(timeout) s") }
            usleep(50_000)
        }
    }

    /// The port of a `tcp://HOST:PORT` endpoint.
    static func port(of endpoint: String) throws -> UInt16 {
        try #require(endpoint.split(separator: ":").last.flatMap { UInt16($0) }, "no port in \(endpoint)")
    }
}

/// One of the coordinator's `--progress-json` lines.
struct ProgressLine: Equatable {
    var step: Int
    var total: Int
    /// Workers whose gradients the step averaged.
    var workers: Int

    /// The progress lines in `stdout`; a complete line that is not one fails the test.
    static func parse(_ stdout: String) -> [ProgressLine] {
        parse(completeLines(stdout)[...])
    }

    /// The newline-terminated lines of `text`: the last piece may be half written.
    static func completeLines(_ text: String) -> [Substring] {
        var pieces = text.split(separator: "\n", omittingEmptySubsequences: false)
        pieces.removeLast()
        return pieces
    }

    static func parse(_ lines: ArraySlice<Substring>) -> [ProgressLine] {
        lines.compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = object["step"] as? Int, let total = object["total"] as? Int, let workers = object["workers"] as? Int else {
                Issue.record("not a progress line: \(line)")
                return nil
            }
            return ProgressLine(step: step, total: total, workers: workers)
        }
    }
}

extension RunningAgon {
    /// Waits for a progress line on standard output that satisfies `predicate`; returns the
    /// first. Each line is parsed once, however often the wait wakes.
    @discardableResult
    func waitForProgress(_ what: String, timeout: Double, where predicate: (ProgressLine) -> Bool) throws -> ProgressLine {
        var found: ProgressLine?
        var checked = 0
        try waitUntil("progress line with \(what)", timeout: timeout) { out, _ in
            let lines = ProgressLine.completeLines(out)
            guard lines.count > checked else { return false }
            found = ProgressLine.parse(lines[checked...]).first(where: predicate)
            checked = lines.count
            return found != nil
        }
        return found!
    }

    /// The progress lines so far.
    var progress: [ProgressLine] { ProgressLine.parse(stdout) }
}

/// Processes as /proc shows them.
enum ProcessTable {
    /// Processes (not zombies: their command line is empty) whose command line contains `text`.
    static func processes(mentioning text: String) -> [(pid: Int32, commandLine: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), pid != getpid(),
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !raw.isEmpty else { return nil }
            let commandLine = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return commandLine.contains(text) ? (pid, commandLine) : nil
        }
    }

    /// The children of `parent`, from the fourth field of /proc/PID/stat.
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // "PID (COMM) STATE PPID ...": COMM may hold spaces, so split after its parenthesis.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
        }
    }
}

/// A plain TCP client for loopback, for bytes no ZeroMQ peer would send.
final class LoopbackSocket {
    fileprivate let descriptor: Int32

    /// Connects to 127.0.0.1:`port`.
    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw AgonWaitError(description: "socket(): errno \(errno)") }
        // A peer that stops reading must not block the test for ever.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close(descriptor)
            throw AgonWaitError(description: "connect(127.0.0.1:\(port)): errno \(error)")
        }
    }

    deinit { close(descriptor) }

    /// Sends all of `bytes`; returns false once the peer has closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}

extension LoopbackSocket {
    /// Reads until `count` bytes have come, the peer hangs up, or 5 s pass with nothing.
    func receive(count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, min($0.count, count - bytes.count), 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[..<n]
        }
        return bytes
    }

    /// True once the peer hangs up (end of stream or reset), reading and discarding what it
    /// sends; false if it keeps the connection open with 5 s of silence.
    func waitForClose() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            return n == 0 || errno == ECONNRESET
        }
    }
}

/// Just enough ZMTP 3.0 (RFC 23) to reach the coordinator's message decoding as a DEALER
/// without a real ZeroMQ socket's manners.
extension LoopbackSocket {
    /// The greeting of a NULL-mechanism client: signature, version 3.0, mechanism, as-server,
    /// filler; 64 bytes.
    static let zmtpGreeting: [UInt8] = [0xFF] + [UInt8](repeating: 0, count: 8) + [0x7F, 3, 0]
        + Array("NULL".utf8) + [UInt8](repeating: 0, count: 16) + [0] + [UInt8](repeating: 0, count: 31)

    /// Greets, waits for the peer's whole greeting (libzmq hangs up on a READY that comes
    /// sooner), and sends READY as a DEALER.
    func zmtpHandshake() throws {
        send(Self.zmtpGreeting)
        guard receive(count: 64).count == 64 else { throw AgonWaitError(description: "no ZMTP greeting from the coordinator") }
        let ready: [UInt8] = [5] + Array("READY".utf8) + [11] + Array("Socket-Type".utf8) + [0, 0, 0, 6] + Array("DEALER".utf8)
        send([0x04, UInt8(ready.count)] + ready)
    }

    /// One message as short ZMTP frames (each under 256 bytes).
    static func zmtpMessage(_ frames: [[UInt8]]) -> [UInt8] {
        frames.enumerated().flatMap { i, frame -> [UInt8] in
            precondition(frame.count < 256, "a short ZMTP frame holds at most 255 bytes, got \(frame.count)")
            return [i < frames.count - 1 ? 0x01 : 0x00, UInt8(frame.count)] + frame
        }
    }
}

/// Reproducible bytes: SplitMix64 (Steele, Lea and Flood 2014), so a failure replays exactly.
struct SeededBytes {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
