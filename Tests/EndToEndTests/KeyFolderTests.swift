// The key folder (`--keys DIR`) and `agon keys generate` as a user gets them wrong, and a worker
// that finds no coordinator: one line naming the file or the endpoint, exit 1.
import Foundation
import Testing

/// A key folder made wrong in one way, and the role that reads it.
enum KeyFolderMistake: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case workerWithoutCoordinatorKey, workerWithoutSecret, coordinatorWithoutSecret, aggregatorWithoutSecret
    case publicKeyAsSecret, aggregatorPublicKeyAsSecret, publicKeyFileAsCurveKey, publicKeyNotTheSecrets

    var testDescription: String { rawValue }
}

extension BadInputTests {
    /// `agon keys generate --out dir` (with `--cluster`), which must succeed.
    static func generateKeys(_ dir: String, cluster: Bool = false) throws {
        let result = try AgonProcess.run(["keys", "generate", "--out", dir] + (cluster ? ["--cluster"] : []), timeout: 30)
        try #require(result.status == 0, "agon keys generate failed: \(result.stderr)")
    }

    @Test("agon keys generate never overwrites a key: exit 1, one line naming the file; --cluster writes coordinator.key")
    func keysGenerateRefusesToOverwrite() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.generateKeys(dir + "/run", cluster: true)
        let secret = try String(contentsOfFile: dir + "/run/secret.key", encoding: .utf8)
        #expect(try String(contentsOfFile: dir + "/run/coordinator.key", encoding: .utf8)
                == (try String(contentsOfFile: dir + "/run/public.key", encoding: .utf8)))
        let mode = try #require(FileManager.default.attributesOfItem(atPath: dir + "/run/secret.key")[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        try expectOneLineError(["keys", "generate", "--out", dir + "/run"], status: 1,
                               mentioning: dir + "/run/secret.key: already exists")
        #expect(try String(contentsOfFile: dir + "/run/secret.key", encoding: .utf8) == secret, "the secret key was replaced")
        // A folder holding only a coordinator's key: a plain pair may go in, --cluster may not.
        try FileManager.default.createDirectory(atPath: dir + "/worker", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/run/public.key", toPath: dir + "/worker/coordinator.key")
        try expectOneLineError(["keys", "generate", "--out", dir + "/worker", "--cluster"], status: 1,
                               mentioning: dir + "/worker/coordinator.key: already exists")
        try Self.generateKeys(dir + "/worker")
        #expect(try String(contentsOfFile: dir + "/worker/coordinator.key", encoding: .utf8)
                == (try String(contentsOfFile: dir + "/run/public.key", encoding: .utf8)))
    }

    @Test("a key folder made wrong: one line naming the file and the mistake, exit 1", arguments: KeyFolderMistake.allCases)
    func keyFolderMistake(_ mistake: KeyFolderMistake) throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.generateKeys(dir + "/run", cluster: true)
        try Self.generateKeys(dir + "/other")
        let keys = dir + "/keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        func copy(_ from: String, _ to: String) throws { try FileManager.default.copyItem(atPath: from, toPath: keys + "/" + to) }
        // A worker that got past its keys would wait for ever: the timeout ends it.
        let worker = ["worker", "--coordinator", "tcp://127.0.0.1:9", "--connect-timeout", "5", "--keys", keys]
        let arguments: [String], needle: String
        switch mistake {
        case .workerWithoutCoordinatorKey:
            try copy(dir + "/run/secret.key", "secret.key")
            (arguments, needle) = (worker, keys + "/coordinator.key: no such file; a worker's key folder needs the coordinator's public key")
        case .workerWithoutSecret, .coordinatorWithoutSecret, .aggregatorWithoutSecret:
            try copy(dir + "/run/coordinator.key", "coordinator.key")
            arguments = switch mistake {
            case .workerWithoutSecret: worker
            case .coordinatorWithoutSecret: ["coordinator", "--keys", keys, "--run-dir", dir + "/out", "--steps", "1"]
            default: ["aggregator", "--keys", keys, "--run-dir", dir + "/out", "--bind", "tcp://127.0.0.1:*"]
            }
            needle = keys + "/secret.key: no such file"
        case .publicKeyAsSecret, .aggregatorPublicKeyAsSecret:
            try copy(dir + "/run/public.key", "secret.key")
            try copy(dir + "/run/coordinator.key", "coordinator.key")
            arguments = mistake == .publicKeyAsSecret ? worker : ["aggregator", "--keys", keys, "--run-dir", dir + "/out", "--bind", "tcp://127.0.0.1:*"]
            needle = keys + "/secret.key: holds a public key"
        case .publicKeyFileAsCurveKey:
            arguments = ["worker", "--coordinator", "tcp://127.0.0.1:9", "--connect-timeout", "5",
                         "--curve-key", dir + "/run/public.key", "--coordinator-key", dir + "/run/coordinator.key"]
            needle = dir + "/run/public.key: holds a public key"
        case .publicKeyNotTheSecrets:
            try copy(dir + "/run/secret.key", "secret.key")
            try copy(dir + "/other/public.key", "public.key")
            try copy(dir + "/run/coordinator.key", "coordinator.key")
            (arguments, needle) = (worker, keys + "/public.key does not match " + keys + "/secret.key")
        }
        try expectOneLineError(arguments, status: 1, mentioning: needle)
    }

    @Test("--connect-timeout 2 with no coordinator: exit 1 after about 2 s, one line naming the endpoint")
    func connectTimeout() throws {
        let endpoint = "tcp://127.0.0.1:\(try LoopbackSocket.unusedPort())"
        let started = Date()
        let result = try expectOneLineError(["worker", "--coordinator", endpoint, "--connect-timeout", "2"], status: 1,
                                            mentioning: endpoint + ": no coordinator reached within 2 s", alone: false)
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds >= 2 && seconds < 10, "exited after \(seconds) s")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.filter { $0 == "worker: waiting for the coordinator at \(endpoint) (for up to 2 s)" }.count == 1, "\(result.stderr)")
        #expect(lines.count == 2, "\(result.stderr)")
        print("worker --connect-timeout 2: exited 1 after \(String(format: "%.2f", seconds)) s")
    }

    @Test("a coordinator name that does not resolve: said once, waited for, then the endpoint named")
    func unresolvableName() throws {
        let endpoint = "tcp://agon-no-such-host.invalid:5555"
        let result = try expectOneLineError(["worker", "--coordinator", endpoint, "--connect-timeout", "5"], status: 1,
                                            mentioning: endpoint + ": no coordinator reached within 5 s", alone: false)
        let unresolved = result.stderr.split(separator: "\n").filter { $0.hasPrefix("worker: agon-no-such-host.invalid does not resolve (yet): ") }
        #expect(unresolved.count == 1, "\(result.stderr)")
        #expect(unresolved.first?.hasSuffix("; still waiting for the coordinator at \(endpoint)") == true, "\(result.stderr)")
    }
}

extension LoopbackSocket {
    /// A loopback TCP port nothing listens on now: bound to port 0, read back, closed.
    static func unusedPort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw AgonWaitError(description: "socket(): errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw AgonWaitError(description: "bind(127.0.0.1:0): errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }
}
