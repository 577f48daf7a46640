// The CURVE keys of each role from its command line: one key folder (`--keys DIR`) or today's
// files named one by one, read into `CurveKeys` with one line for each mistake.
import AgonWire
import ArgumentParser

enum RoleKeys {
    /// Checks that the two flags naming key files one by one come together, and not with `--keys`.
    static func validate(keys: String?, _ first: (name: String, value: String?), _ second: (name: String, value: String?)) throws {
        guard (first.value == nil) == (second.value == nil) else {
            throw ValidationError("\(first.name) and \(second.name) go together")
        }
        guard keys != nil, first.value != nil else { return }
        throw ValidationError("--keys and \(first.name) name the same keys: give the folder or the files, not both")
    }

    /// A server's keys (coordinator, aggregator) bound to `bind`: `--keys DIR`, or
    /// `--curve-secret FILE` with `--authorized-keys DIR`; nil for none, after warning that
    /// `openRisk` when `bind` reaches beyond this machine. Unreadable authorized key files are logged.
    ///
    /// - Throws: `WireError` naming a key file that is missing or wrong; `RuntimeError` when no
    ///   key would be admitted.
    static func server(role: String, bind: String, openRisk: String, keys: String?, curveSecret: String?,
                       authorizedKeys: String?) throws -> CurveKeys? {
        var result: CurveKeys
        if let keys {
            result = try CurveKeys.load(folder: keys, requiresCoordinatorKey: false)
        } else if let curveSecret, let authorizedKeys {
            let admitted = try AuthorizedKeys.load(directory: authorizedKeys)
            let (secret, publicKey) = try CurveKeys.readSecret(at: curveSecret, knownPublicKeys: admitted.keys.sorted().map { ("one in \(authorizedKeys)", $0) })
            result = CurveKeys(secretKey: secret, publicKey: publicKey, admittedKeys: admitted)
        } else {
            warnIfOpen(role: role, bind: bind, what: openRisk)
            return nil
        }
        for problem in result.admittedKeys.problems { logLine("\(role): \(problem)") }
        guard !result.admittedKeys.keys.isEmpty else {
            throw RuntimeError("\(authorizedKeys ?? keys ?? ""): no public key files; no one could connect")
        }
        return result
    }

    /// A worker's keys: `--keys DIR` (which must hold coordinator.key), or `--curve-key FILE`
    /// with `--coordinator-key FILE`; nil for none.
    static func worker(keys: String?, curveKey: String?, coordinatorKey: String?) throws -> CurveKeys? {
        if let keys { return try CurveKeys.load(folder: keys, requiresCoordinatorKey: true) }
        guard let curveKey, let coordinatorKey else { return nil }
        let coordinator = try Curve.readKeyFile(at: coordinatorKey)
        let (secret, publicKey) = try CurveKeys.readSecret(at: curveKey, knownPublicKeys: [("the one in \(coordinatorKey)", coordinator)])
        return CurveKeys(secretKey: secret, publicKey: publicKey, coordinatorKey: coordinator, aggregatorKey: coordinator)
    }

    /// How an event source with `keys` connects to the aggregator: CURVE with the aggregator's
    /// public key (`--aggregator-key FILE`, else the folder's aggregator.key or coordinator.key,
    /// else `fallback`), or in clear text without keys.
    static func eventSecurity(_ keys: CurveKeys?, aggregatorKey: String?, fallback: String? = nil) throws -> WireSocket.Security {
        guard let keys else { return .none }
        guard let server = try aggregatorKey.map(Curve.readKeyFile) ?? keys.aggregatorKey ?? fallback else { return .none }
        return .curveClient(serverPublicKey: server, publicKey: keys.publicKey, secretKey: keys.secretKey)
    }

    /// The warning a server gives when it listens beyond this machine without CURVE.
    private static func warnIfOpen(role: String, bind: String, what: String) {
        guard !WireSocket.isLoopback(bind) else { return }
        logLine("\(role): warning: \(bind) is reachable from other machines and CURVE is off: \(what); use --keys DIR (or --curve-secret and --authorized-keys)")
    }
}
