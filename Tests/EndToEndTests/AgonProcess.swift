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

    /// Runs `agon arguments…`, killing it after `timeout` seconds.
    static func run(_ arguments: [String], timeout: Double = 120) throws -> AgonResult {
        // Output goes to files, which never fill up and block the child as a pipe can.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        try process.run()
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

    /// A fresh temporary folder.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agon-e2e-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
