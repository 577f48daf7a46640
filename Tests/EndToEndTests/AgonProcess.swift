// Runs the real `agon` executable as a child process, with a watchdog, for end-to-end tests.
import Foundation

/// The result of one run of the `agon` binary.
struct AgonResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum AgonProcess {
    /// The `agon` built beside this test bundle, or `AGON_BINARY`.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["AGON_BINARY"], !path.isEmpty { return path }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        // The runner may sit inside a bundle folder; walk up until `agon` is beside it.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("agon").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "agon"
    }()

    /// Runs `agon arguments…`, killing it after `timeout` seconds; in `currentDirectory` and with
    /// `environment` when given (else this process's).
    static func run(_ arguments: [String], timeout: Double = 120, currentDirectory: String? = nil,
                    environment: [String: String]? = nil) throws -> AgonResult {
        try run(executable: binary, arguments, timeout: timeout, currentDirectory: currentDirectory, environment: environment)
    }

    /// Runs any program to completion, killing it after `timeout` seconds.
    static func run(executable: String, _ arguments: [String], timeout: Double = 120, currentDirectory: String? = nil,
                    environment: [String: String]? = nil) throws -> AgonResult {
        // Output goes to files, which never fill up and block the child as a pipe can.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        if let environment { process.environment = environment }
        process.standardOutput = out
        process.standardError = err
        try AgonProcess.spawningAsAShellWould { try process.run() }
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        try out.close()
        try err.close()
        return AgonResult(status: process.terminationStatus,
                          stdout: try String(contentsOfFile: dir + "/out", encoding: .utf8),
                          stderr: try String(contentsOfFile: dir + "/err", encoding: .utf8))
    }

    /// Runs `spawn` with no signal blocked in this thread, so that the child starts with the empty
    /// signal mask a shell gives it (a child inherits its spawner's mask, and the test runner's
    /// threads may block SIGINT and SIGTERM, which would hide a role that forgets to block them).
    static func spawningAsAShellWould(_ spawn: () throws -> Void) throws {
        var empty = sigset_t(), previous = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try spawn()
    }

    /// A fresh temporary folder.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agon-e2e-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

// MARK: Processes that run while the test watches them

extension AgonProcess {
    /// Starts `agon arguments…` in the background; `name` labels it in failure messages. The
    /// watchdog kills it with SIGKILL after `watchdog` seconds, whatever the test is doing.
    static func start(_ arguments: [String], name: String, watchdog: Double = 90) throws -> RunningAgon {
        try RunningAgon(arguments, name: name, watchdog: watchdog)
    }
}

/// Why waiting on a background `agon` failed; the message carries the end of its output.
struct AgonWaitError: Error, CustomStringConvertible {
    let description: String
}

/// A background `agon` process. Its standard output and error are read as they come, and
/// `waitUntil` wakes on each new chunk and on exit: tests wait for events, never for time.
final class RunningAgon: @unchecked Sendable {
    let name: String
    let arguments: [String]
    private let process = Process()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let condition = NSCondition()
    private var outBytes = Data()
    private var errBytes = Data()
    private var openStreams = 2
    private var exitStatus: Int32?
    private var watchdog: DispatchWorkItem?

    /// The process id.
    var pid: Int32 { process.processIdentifier }

    fileprivate init(_ arguments: [String], name: String, watchdog timeout: Double) throws {
        self.name = name
        self.arguments = arguments
        process.executableURL = URL(fileURLWithPath: AgonProcess.binary)
        process.arguments = arguments
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.terminationHandler = { [weak self] process in
            // A death by signal reads as a shell shows it: 128 + the signal number.
            let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
            self?.condition.withLock {
                self?.exitStatus = status
                self?.condition.broadcast()
            }
        }
        try AgonProcess.spawningAsAShellWould { try process.run() }
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { [weak self] in if self?.isRunning == true { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        self.watchdog = watchdog
        read(outPipe.fileHandleForReading, isStandardOutput: true)
        read(errPipe.fileHandleForReading, isStandardOutput: false)
    }

    deinit { watchdog?.cancel() }

    /// One thread per stream, blocked in read: a pipe must be drained or the child blocks.
    private func read(_ handle: FileHandle, isStandardOutput: Bool) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty { openStreams -= 1 } else if isStandardOutput { outBytes.append(chunk) } else { errBytes.append(chunk) }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { return }
            }
        }
        thread.start()
    }

    /// Everything written to standard output so far.
    var stdout: String { condition.withLock { String(decoding: outBytes, as: UTF8.self) } }
    /// Everything written to standard error so far.
    var stderr: String { condition.withLock { String(decoding: errBytes, as: UTF8.self) } }
    /// The exit status (128 + N for a death by signal N), or nil while it runs.
    var status: Int32? { condition.withLock { exitStatus } }
    var isRunning: Bool { status == nil }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits until `condition` holds of (stdout, stderr), for at most `timeout` seconds.
    /// Fails early, with the output so far, if the process exits and its output is read to the
    /// end without the condition holding.
    func waitUntil(_ what: String, timeout: Double, _ predicate: (_ stdout: String, _ stderr: String) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let out = String(decoding: outBytes, as: UTF8.self), err = String(decoding: errBytes, as: UTF8.self)
            if predicate(out, err) { return }
            if exitStatus != nil && openStreams == 0 {
                throw AgonWaitError(description: "\(name) exited with status \(exitStatus!) before \(what)\n\(Self.tail(err))")
            }
            if !condition.wait(until: deadline) {
                throw AgonWaitError(description: "\(name): no \(what) within \(timeout) s\n\(Self.tail(String(decoding: errBytes, as: UTF8.self)))")
            }
        }
    }

    /// Waits for a line of standard error containing `text`.
    func waitForLog(_ text: String, timeout: Double) throws {
        try waitUntil("log line containing \"\(text)\"", timeout: timeout) { _, err in err.contains(text) }
    }

    /// Waits for the process to exit (and its output to be read, for up to 5 s more); returns
    /// the status, 128 + N for a death by signal N.
    @discardableResult
    func waitForExit(timeout: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while exitStatus == nil {
            if !condition.wait(until: deadline) {
                throw AgonWaitError(description: "\(name) still running after \(timeout) s\n\(Self.tail(String(decoding: errBytes, as: UTF8.self)))")
            }
        }
        // Output may still be in the pipe; grandchildren holding it open must not hang the test.
        let drained = Date().addingTimeInterval(5)
        while openStreams > 0 && condition.wait(until: drained) {}
        return exitStatus!
    }

    /// SIGKILL unless it has exited (a stopped process dies too), then reaps it. For `defer`.
    /// With AGON_E2E_VERBOSE set, prints what it logged.
    func stop() {
        watchdog?.cancel()
        if isRunning { kill(pid, SIGKILL) }
        _ = try? waitForExit(timeout: 10)
        if ProcessInfo.processInfo.environment["AGON_E2E_VERBOSE"] != nil {
            print("── \(name) (pid \(pid), status \(status.map(String.init) ?? "?")): agon \(arguments.joined(separator: " "))\n\(stderr)")
        }
    }

    /// The last lines of `text`, for failure messages.
    static func tail(_ text: String, lines: Int = 25) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

/// What a failed expectation shows of a process: Swift Testing reflects the values in a failed
/// `#expect`, and reflecting Foundation's `Process` inside crashes the test runner.
extension RunningAgon: CustomReflectable {
    var customMirror: Mirror {
        Mirror(self, children: ["name": name, "pid": pid, "status": status.map(String.init) ?? "running"], displayStyle: .class)
    }
}
