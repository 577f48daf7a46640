// A process's CURVE keys read from files: one key folder (`--keys DIR`) or files named one by
// one, checked so that each common mistake gets its own line naming the file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The keys one process of a run holds: its own pair, the public keys of the servers it
/// connects to, and (for a server) the keys it admits.
///
/// A key folder holds `secret.key` (this process's secret key), `public.key` (its public key;
/// optional, checked against the secret), `coordinator.key` (the coordinator's public key),
/// `aggregator.key` (the aggregator's; optional, default `coordinator.key`) and `authorized/`
/// (public keys a server admits besides `public.key`). `agon keys generate --cluster` writes one
/// folder that serves every process of a run: every process then holds the same pair.
public struct CurveKeys: Sendable, Equatable {
    /// This process's secret key (Z85).
    public var secretKey: String
    /// This process's public key, derived from the secret.
    public var publicKey: String
    /// The coordinator's public key, if known.
    public var coordinatorKey: String?
    /// The aggregator's public key, if known.
    public var aggregatorKey: String?
    /// The public keys a server admits.
    public var admittedKeys: AuthorizedKeys

    /// Keys given one by one.
    public init(secretKey: String, publicKey: String, coordinatorKey: String? = nil, aggregatorKey: String? = nil,
                admittedKeys: AuthorizedKeys = AuthorizedKeys()) {
        self.secretKey = secretKey
        self.publicKey = publicKey
        self.coordinatorKey = coordinatorKey
        self.aggregatorKey = aggregatorKey
        self.admittedKeys = admittedKeys
    }

    /// Reads a key folder.
    ///
    /// - Parameter requiresCoordinatorKey: true for a worker, which cannot connect without it.
    /// - Throws: `WireError` naming the file: `.io(ENOENT)` for a missing `secret.key` (or
    ///   `coordinator.key` when required), `.invalidKey` for a file that holds no key, a public
    ///   key in `secret.key`, or a `public.key` that is not the secret's.
    public static func load(folder: String, requiresCoordinatorKey: Bool) throws(WireError) -> CurveKeys {
        let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        let secretPath = base + "/secret.key"
        guard exists(secretPath) else {
            throw WireError(.io(ENOENT), "\(secretPath): no such file; a key folder holds this process's secret key (make one with `agon keys generate --out \(base)`)")
        }
        let publicPath = base + "/public.key"
        let storedPublic = exists(publicPath) ? try Curve.readKeyFile(at: publicPath) : nil
        let coordinatorPath = base + "/coordinator.key"
        let coordinator = exists(coordinatorPath) ? try Curve.readKeyFile(at: coordinatorPath) : nil
        if requiresCoordinatorKey && coordinator == nil {
            throw WireError(.io(ENOENT), "\(coordinatorPath): no such file; a worker's key folder needs the coordinator's public key (copy the coordinator's public.key there, or make one folder for the whole run with `agon keys generate --out \(base) --cluster`)")
        }
        let aggregatorPath = base + "/aggregator.key"
        let aggregator = exists(aggregatorPath) ? try Curve.readKeyFile(at: aggregatorPath) : coordinator
        var admitted = AuthorizedKeys()
        if exists(base + "/authorized") { admitted = try AuthorizedKeys.load(directory: base + "/authorized") }
        var known: [(String, String)] = [(publicPath, storedPublic), (coordinatorPath, coordinator), (aggregatorPath, aggregator)]
            .compactMap { path, key in key.map { ("the one in \(path)", $0) } }
        known += admitted.keys.sorted().map { ("one in \(base)/authorized", $0) }
        let (secret, derived) = try readSecret(at: secretPath, knownPublicKeys: known)
        if let storedPublic, storedPublic != derived {
            throw WireError(.invalidKey, "\(publicPath) does not match \(secretPath) (that secret key's public key is \(derived)); make the pair again with `agon keys generate`, or remove public.key")
        }
        admitted.keys.insert(derived)
        return CurveKeys(secretKey: secret, publicKey: derived, coordinatorKey: coordinator, aggregatorKey: aggregator, admittedKeys: admitted)
    }

    /// Reads a secret key file and derives its public key, refusing a file that holds a public
    /// key: one of `knownPublicKeys` (where it is known from, as "the one in PATH"; the key), or
    /// the public key of a `secret.key` beside it.
    ///
    /// - Throws: `WireError` naming the file, as `Curve.readKeyFile` does, or `.invalidKey`
    ///   for a public key.
    public static func readSecret(at path: String, knownPublicKeys: [(source: String, key: String)] = []) throws(WireError) -> (secret: String, public: String) {
        let key = try Curve.readKeyFile(at: path)
        var known = knownPublicKeys
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let sibling = folder + "/secret.key"
        if sibling != path && !path.hasSuffix("/secret.key"), exists(sibling),
           let siblingSecret = try? Curve.readKeyFile(at: sibling), let siblingPublic = try? Curve.publicKey(forSecretKey: siblingSecret) {
            known.append(("the public key of \(sibling)", siblingPublic))
        }
        if let match = known.first(where: { $0.key == key }) {
            throw WireError(.invalidKey, "\(path): holds a public key (\(match.source)), not a secret key; give the secret.key that `agon keys generate` wrote")
        }
        return (key, try Curve.publicKey(forSecretKey: key))
    }

    /// Whether `path` names something (a missing file is told apart from an unreadable one).
    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }
}
