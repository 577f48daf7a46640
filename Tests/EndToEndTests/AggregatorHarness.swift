// What the aggregator's end-to-end tests add to DistributedHarness: an `agon aggregator` started
// on a free (or given) loopback port, run.db read with the sqlite3 command (this target does
// not link AgonRunStore), events messages built byte by byte, and a Python with pyzmq and numpy.
import Foundation
import Testing

extension DistributedHarness {
    /// Starts `agon aggregator` on `bind` in `runDirectory`, waits until it listens, and returns
    /// it with the endpoint it bound (from RUN/aggregator.json).
    static func startAggregator(runDirectory: String, bind: String = "tcp://127.0.0.1:*", renderInterval: Double = 1,
                                _ arguments: [String] = [], name: String = "aggregator", watchdog: Double = 120) throws -> (RunningAgon, endpoint: String) {
        let aggregator = try AgonProcess.start(["aggregator", "--bind", bind, "--run-dir", runDirectory,
                                                "--render-interval", String(renderInterval)] + arguments,
                                               name: name, watchdog: watchdog)
        do {
            // aggregator.json is written before this line is logged.
            try aggregator.waitForLog("aggregator: listening on", timeout: 30)
            let data = try #require(FileManager.default.contents(atPath: runDirectory + "/aggregator.json"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let endpoint = try #require(object["endpoint"] as? String)
            #expect(object["pid"] as? Int == Int(aggregator.pid))
            return (aggregator, endpoint)
        } catch {
            aggregator.stop()
            throw error
        }
    }

    /// The folder of the package (the one holding Package.swift), from this file's path.
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// A program other than `agon`, run to its end with a watchdog.
enum Tool {
    /// Runs `executable arguments…`, killing it after `timeout` seconds.
    static func run(_ executable: String, _ arguments: [String], timeout: Double = 60) throws -> AgonResult {
        try AgonProcess.run(executable: executable, arguments, timeout: timeout)
    }

    /// The first of `candidates` that is an executable file.
    static func find(_ candidates: [String]) -> String? {
        candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// run.db as the `sqlite3` command reads it (Debian package sqlite3).
enum RunDatabase {
    static let sqlite3 = Tool.find(["/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/bin/sqlite3"])

    /// The rows of `sql` on the database `path`, each as its columns' texts. The store is in WAL
    /// mode, so reading never blocks the aggregator; a busy database is waited for up to 10 s.
    /// Do not read a database whose aggregator was killed before another opens it: the reader
    /// would recover its write-ahead log in the aggregator's place.
    static func rows(_ path: String, _ sql: String) throws -> [[String]] {
        let sqlite3 = try #require(sqlite3, "no sqlite3 command")
        let result = try Tool.run(sqlite3, ["-batch", "-noheader", "-separator", "\t", "-cmd", ".timeout 10000", path, sql], timeout: 30)
        guard result.status == 0 else {
            throw AgonWaitError(description: "sqlite3 \(path) \"\(sql)\" exited with status \(result.status): \(result.stderr)")
        }
        return result.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The one integer `sql` selects.
    static func integer(_ path: String, _ sql: String) throws -> Int {
        let rows = try rows(path, sql)
        return try #require(rows.count == 1 && rows[0].count == 1 ? Int(rows[0][0]) : nil, "\(sql) gave \(rows), not one integer")
    }
}

/// Events messages (kind 9) as PROTOCOL.md draws them, for bytes no EventSource would send.
enum EventBytes {
    static func string(_ text: String) -> [UInt8] { le(UInt32(text.utf8.count)) + Array(text.utf8) }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func le(_ value: Double) -> [UInt8] { le(value.bitPattern) }

    /// A batch header: version 3, kind 9, run, source, incarnation, generation and the event
    /// count it claims.
    static func header(source: String, count: Int32, incarnation: Int64 = 1, generation: Int64 = 0) -> [UInt8] {
        [3, 9] + string("") + string(source) + le(incarnation) + le(generation) + le(count)
    }

    /// One scalars event (code 1).
    static func scalars(seq: Int64, step: Int64, _ values: [(String, Double)]) -> [UInt8] {
        le(seq) + le(step) + le(1_700_000_000.0) + [1] + le(Int32(values.count)) + values.flatMap { string($0.0) + le($0.1) }
    }
}

/// A Python 3 with pyzmq and numpy for clients/python/agon_client.py: a virtual environment kept
/// under .build/ (as scripts/test.sh keeps the one for safetensors), installed once.
enum PythonClientEnvironment {
    static let venv = DistributedHarness.packageRoot + "/.build/venv-python-client"

    /// The environment's python, or why there is none (no python3, no venv module, pip failed).
    static let python: Result<String, AgonWaitError> = {
        guard let python3 = Tool.find(["/usr/bin/python3", "/usr/local/bin/python3"]) else {
            return .failure(AgonWaitError(description: "no python3"))
        }
        let python = venv + "/bin/python"
        do {
            if !FileManager.default.isExecutableFile(atPath: python) {
                let made = try Tool.run(python3, ["-m", "venv", venv], timeout: 120)
                guard made.status == 0 else {
                    return .failure(AgonWaitError(description: "python3 -m venv \(venv) failed (Debian: python3-venv): \(made.stderr.suffix(300))"))
                }
            }
            if try Tool.run(python, ["-c", "import zmq, numpy"], timeout: 60).status != 0 {
                let pip = try Tool.run(python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", "pyzmq", "numpy"], timeout: 600)
                guard pip.status == 0 else {
                    return .failure(AgonWaitError(description: "pip could not install pyzmq and numpy: \(RunningAgon.tail(pip.stderr, lines: 3))"))
                }
            }
            return .success(python)
        } catch {
            return .failure(AgonWaitError(description: "setting up \(venv): \(error)"))
        }
    }()
}

extension LoopbackSocket {
    /// The body of the next ZMTP message frame the peer sends, skipping commands (its READY);
    /// nil once it hangs up, or after 5 s of silence.
    func receiveZMTPFrame() -> [UInt8]? {
        while true {
            let head = receive(count: 2)
            guard head.count == 2 else { return nil }
            var size = Int(head[1])
            if head[0] & 0x02 != 0 {   // a long frame: an 8-byte big-endian size
                let rest = receive(count: 7)
                guard rest.count == 7 else { return nil }
                size = ([head[1]] + rest).reduce(0) { $0 << 8 | Int($1) }
            }
            let body = receive(count: size)
            guard body.count == size else { return nil }
            if head[0] & 0x04 == 0 { return body }
        }
    }
}
