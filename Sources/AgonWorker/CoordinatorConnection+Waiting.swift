// A worker started before its coordinator waits for it (pods and job steps start in any order),
// says so once, and is told at once when the coordinator's handshake refuses it.
import AgonWire
import Foundation

extension CoordinatorConnection {
    /// Waits until the connection to the coordinator is up and its handshake done. libzmq
    /// retries the connection with backoff and resolves the endpoint's name at each attempt.
    /// Logs one line when the wait starts, once if the name does not resolve, and one when the
    /// coordinator is reached.
    ///
    /// - Throws: `WorkerError.unreachable` after `configuration.connectTimeout` seconds,
    ///   `.refused` when the handshake fails (see `checkHandshake`), `CancellationError` once
    ///   stopped.
    func waitUntilConnected() throws {
        guard let monitor else { return }   // libzmq cannot say: the join timeout decides
        let endpoint = configuration.coordinator
        let started = clock.now
        var waiting = false
        let name = HostNameCheck(endpoint: endpoint)
        var connectedSince: ContinuousClock.Instant?
        while !monitor.hasCompletedHandshake {
            // Connected for 2 s with no word of the handshake: go on, and let the join decide.
            connectedSince = monitor.isConnected ? connectedSince ?? clock.now : nil
            if let connectedSince, clock.now - connectedSince >= .seconds(2) { break }
            if stop.isStopped { throw CancellationError() }
            // Attempts first: a failed handshake is reported before the retry that follows it.
            let attempts = monitor.failedAttempts
            try checkHandshake()
            let waited = (clock.now - started).seconds
            if !waiting && monitor.handshakeFailure == nil && (attempts > 0 || waited >= 1) {
                waiting = true
                log("worker: waiting for the coordinator at \(endpoint)\(configuration.connectTimeout.map { " (for up to \(Self.seconds($0)) s)" } ?? "")")
            }
            if let problem = name?.problem() {
                log("worker: \(problem); still waiting for the coordinator at \(endpoint)")
            }
            if let timeout = configuration.connectTimeout, waited >= timeout {
                throw WorkerError(.unreachable, "\(endpoint): no coordinator reached within \(Self.seconds(timeout)) s (--connect-timeout); is it running there\(name == nil ? "" : ", and does the name resolve")?")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if waiting { log(String(format: "worker: reached the coordinator at %@ after %.1f s", endpoint, (clock.now - started).seconds)) }
    }

    /// Throws if the coordinator's handshake has refused this worker: a key it does not admit,
    /// a coordinator key that is not the coordinator's, CURVE on one side only.
    func checkHandshake() throws {
        guard let failure = monitor?.handshakeFailure else { return }
        let endpoint = configuration.coordinator
        let keys = configuration.curve
        switch failure {
        case .refused(let status):
            throw WorkerError(.refused, "\(endpoint): the coordinator does not admit this worker's key \(keys?.publicKey ?? "") (ZAP status \(status)); add it to the coordinator's authorized keys, or use one key folder for the run (`agon keys generate --cluster`)")
        case .closed(let count) where count < 2:
            return   // once may be a coordinator stopping; twice in a row is the keys
        case _ where keys == nil:
            // A CURVE server hangs up on a client without keys; the client sees the mismatch,
            // or only the hang-up when the server's check wins the race.
            throw WorkerError(.refused, "\(endpoint): the coordinator requires CURVE keys and this worker has none; start it with --keys DIR (DIR/coordinator.key: the coordinator's public key)")
        case _ where failure.isMechanismMismatch:
            throw WorkerError(.refused, "\(endpoint): the coordinator does not use CURVE but this worker has keys; start the coordinator with --keys, or this worker without them")
        case .closed, .protocolError:
            throw WorkerError(.refused, "\(endpoint): the coordinator broke off the CURVE handshake: the coordinator key this worker has (\(keys?.serverPublicKey ?? "")) is not the coordinator's public key (or the coordinator runs without CURVE); check coordinator.key")
        }
    }

    /// A timeout as it was given: "2", "0.5".
    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// Whether the host of a `tcp://NAME:PORT` endpoint resolves, asked on another thread (a
/// resolver may take seconds to answer) every 2 s; nil for an address or another transport.
private final class HostNameCheck: @unchecked Sendable {
    private let host: String
    private let lock = NSLock()
    private var asking = false
    private var lastAsked = ContinuousClock.now - .seconds(10)
    private var failure: String?
    private var told = false

    init?(endpoint: String) {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
        var host = String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
        if host.hasPrefix("[") { host = String(host.dropFirst().dropLast()) }
        var address = in6_addr()
        guard !host.isEmpty, host != "*", inet_pton(AF_INET, host, &address) != 1, inet_pton(AF_INET6, host, &address) != 1 else { return nil }
        self.host = host
    }

    /// The line to log the first time the name fails to resolve; nil otherwise.
    func problem() -> String? {
        lock.lock()
        defer { lock.unlock() }
        if let failure, !told {
            told = true
            return failure
        }
        if !asking && !told && ContinuousClock.now - lastAsked >= .seconds(2) {
            asking = true
            lastAsked = .now
            let host = self.host
            DispatchQueue.global().async { [self] in
                var result: UnsafeMutablePointer<addrinfo>?
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                let status = getaddrinfo(host, nil, &hints, &result)
                if result != nil { freeaddrinfo(result) }
                lock.withLock {
                    asking = false
                    if status != 0 { failure = "\(host) does not resolve (yet): \(String(cString: gai_strerror(status)))" }
                }
            }
        }
        return nil
    }
}
