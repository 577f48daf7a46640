// The ZAP handler (ZeroMQ RFC 27): admits a CURVE client only if its public key is authorized,
// answering libzmq's requests on inproc://zeromq.zap.01 from a thread of its own.

import Dispatch
import Foundation

/// Admits CURVE clients of the CURVE server sockets of one context by their public keys.
///
/// libzmq asks the socket bound at `inproc://zeromq.zap.01` of the server's context about every
/// CURVE handshake. The handler replies "200" if the client's 32-byte public key is authorized,
/// and "400" otherwise (or for any mechanism other than CURVE), calling `onRefusal` with one
/// line for the log. Make the handler before binding any server socket in the context, and stop
/// it after closing them: with no handler, a CURVE server admits any client that knows its
/// public key, unless the socket was made with `Options.requiresZAPHandler`.
///
/// The handler runs on its own `Thread`; `stop()` (or the last reference going) ends it and
/// waits for it. Every method may be called from any thread.
public final class ZAPHandler: @unchecked Sendable {
    /// The endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    /// The keys, the domain and the callback, shared with the handler's thread.
    private let state: ZAPState
    /// Wakes the thread to stop; used only by `stop()`, under `lock`.
    private let stopSender: WireSocket
    /// Signalled when the thread has closed its sockets.
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopped = false

    /// Binds `endpoint` in `context` and starts answering on a new thread.
    ///
    /// - Parameters:
    ///   - authorizedKeys: the admitted public keys, 40 Z85 characters each.
    ///   - domain: if given, a request from a socket whose `zapDomain` differs is refused.
    ///   - onRefusal: called on the handler's thread with one line per refused client, naming
    ///     its public key and address; also with the reason if the handler stops on an error.
    /// - Throws: `WireError` with code `.invalidKey` for a key that is not 40 Z85 characters,
    ///   or `.zmq(EADDRINUSE)` if the context already has a ZAP handler.
    public init(
        context: WireContext,
        authorizedKeys: some Sequence<String>,
        domain: String? = nil,
        onRefusal: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(WireError) {
        let keys = Set(authorizedKeys)
        try ZAPHandler.validate(keys)
        state = ZAPState(keys: keys, domain: domain, onRefusal: onRefusal)
        let requests = try WireSocket(context, kind: .router)
        try requests.bind(ZAPHandler.endpoint)
        let control = try WireSocket(context, kind: .pull)
        let controlEndpoint = "inproc://agon.zap-handler.stop.\(UInt64.random(in: 0...UInt64.max))"
        try control.bind(controlEndpoint)
        // A zero send timeout: stop() never blocks, even if the thread has already gone.
        let sender = try WireSocket(context, kind: .push, options: .init(sendTimeoutMilliseconds: 0))
        try sender.connect(controlEndpoint)
        // Nothing may throw from here on: once every property is set, a throw would run deinit,
        // whose stop() waits for a thread that never started.
        stopSender = sender

        let state = state
        let finished = finished
        let thread = Thread {
            state.serve(requests: requests, control: control)
            // Unbind first: close() frees the name only later, on libzmq's reaper thread, and a
            // new handler may bind it as soon as stop() returns.
            try? requests.unbind(ZAPHandler.endpoint)
            requests.close()
            control.close()
            finished.signal()
        }
        thread.name = "agon-zap-handler"
        thread.start()
    }

    deinit { stop() }

    /// The admitted public keys, 40 Z85 characters each.
    public var authorizedKeys: Set<String> { state.keys }

    /// Replaces the admitted keys (after reloading a key folder, say); later handshakes use them.
    ///
    /// - Throws: `WireError` with code `.invalidKey` for a key that is not 40 Z85 characters;
    ///   the keys are then left as they were.
    public func replaceAuthorizedKeys(_ keys: some Sequence<String>) throws(WireError) {
        let keys = Set(keys)
        try ZAPHandler.validate(keys)
        state.keys = keys
    }

    /// Stops answering and waits for the thread to close its sockets. Calling it again does
    /// nothing.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        // Fails only if the thread has already stopped on an error; it has signalled then.
        try? stopSender.send(frames: [[]])
        finished.wait()
        stopSender.close()
    }

    private static func validate(_ keys: Set<String>) throws(WireError) {
        for key in keys { _ = try Curve.keyBytes(key, role: "authorized public key") }
    }
}

/// What the handler's thread needs: the keys (which may be replaced), the domain, the callback.
private final class ZAPState: @unchecked Sendable {
    private let lock = NSLock()
    private var storedKeys: Set<String>
    let domain: String?
    let onRefusal: @Sendable (String) -> Void

    init(keys: Set<String>, domain: String?, onRefusal: @escaping @Sendable (String) -> Void) {
        storedKeys = keys
        self.domain = domain
        self.onRefusal = onRefusal
    }

    var keys: Set<String> {
        get { lock.withLock { storedKeys } }
        set { lock.withLock { storedKeys = newValue } }
    }

    /// Answers requests until a message arrives on `control` or a socket fails.
    func serve(requests: WireSocket, control: WireSocket) {
        let poller = WirePoller([requests, control])
        while true {
            do {
                let ready = try poller.poll(timeoutMilliseconds: nil)
                if ready.contains(1) { return }
                guard ready.contains(0), let frames = try requests.receive(timeoutMilliseconds: 0) else { continue }
                if let reply = answer(frames) { try requests.send(frames: reply) }
            } catch where error.code == .oversized {
                onRefusal("ZAP handler: dropped a request: \(error.message)")
            } catch {
                onRefusal("ZAP handler stopped: \(error)")
                return
            }
        }
    }

    /// The reply to one request, received on a ROUTER: [routing id, empty delimiter, version,
    /// request id, domain, address, identity, mechanism, credentials...]. Nil if it has no
    /// envelope or request id to reply to.
    func answer(_ frames: [[UInt8]]) -> [[UInt8]]? {
        guard let delimiter = frames.firstIndex(where: \.isEmpty) else { return nil }
        let envelope = Array(frames[...delimiter])
        let body = Array(frames[(delimiter + 1)...])
        guard body.count >= 2 else { return nil }
        func reply(_ status: String, _ text: String, userID: String = "") -> [[UInt8]] {
            envelope + [Array("1.0".utf8), body[1], Array(status.utf8), Array(text.utf8), Array(userID.utf8), []]
        }
        func refuse(_ why: String) -> [[UInt8]] {
            onRefusal(why)
            return reply("400", why)
        }
        guard body.count >= 6 else { return refuse("refused a ZAP request of \(body.count) frames; RFC 27 needs at least 6") }
        let version = String(decoding: body[0], as: UTF8.self)
        let domain = String(decoding: body[2], as: UTF8.self)
        let address = String(decoding: body[3], as: UTF8.self)
        let mechanism = String(decoding: body[5], as: UTF8.self)
        guard version == "1.0" else { return refuse("refused a client at \(address): ZAP version \"\(version)\", expected \"1.0\"") }
        if let expected = self.domain, domain != expected {
            return refuse("refused a client at \(address): ZAP domain \"\(domain)\", expected \"\(expected)\"")
        }
        guard mechanism == "CURVE" else {
            return refuse("refused a client at \(address): security mechanism \(mechanism), only CURVE is admitted")
        }
        guard body.count == 7, body[6].count == Curve.keyByteCount, let key = try? Curve.z85Encode(body[6]) else {
            return refuse("refused a CURVE client at \(address): its credentials are not one 32-byte public key")
        }
        guard keys.contains(key) else {
            return refuse("refused a CURVE client at \(address): public key \(key) is not authorized")
        }
        return reply("200", "OK", userID: key)
    }
}

extension ZAPHandler {
    /// CURVE for a server socket made next in `context`: a handler that admits `authorizedKeys`
    /// and the socket's security; no handler and `.none` without a `secretKey`.
    ///
    /// - Throws: `WireError` as `init` does.
    public static func serving(
        context: WireContext,
        secretKey: String?,
        authorizedKeys: some Sequence<String>,
        onRefusal: @escaping @Sendable (String) -> Void
    ) throws(WireError) -> (handler: ZAPHandler?, security: WireSocket.Security) {
        guard let secretKey else { return (nil, .none) }
        let handler = try ZAPHandler(context: context, authorizedKeys: authorizedKeys, onRefusal: onRefusal)
        return (handler, .curveServer(secretKey: secretKey))
    }
}
