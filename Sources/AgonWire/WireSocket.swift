// A ZeroMQ socket of the four kinds Agon uses, with errors that name the endpoint or peer.
// Options (limits, identity, CURVE) are in WireSocket+Options.swift.

import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ZeroMQ socket: ROUTER, DEALER, PUSH or PULL.
///
/// Every socket is made with `ZMQ_LINGER` 0, so closing it drops unsent messages at once and a
/// context can always terminate. A message is a list of frames (a multipart message); on a
/// ROUTER the first frame names the peer: its routing id, prepended on receive and consumed on
/// send.
///
/// A ZeroMQ socket is not thread-safe: this class is `@unchecked Sendable` so that it may be
/// handed from one thread or task to another, but it must be used by one thread at a time.
public final class WireSocket: @unchecked Sendable {
    /// The socket types Agon uses.
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// Routes by peer identity; the coordinator's and the aggregator's side.
        case router
        /// Talks to one ROUTER without an envelope; a worker's side.
        case dealer
        /// Sends only, fanned out to its peers; a worker's event stream.
        case push
        /// Receives only, fair-queued from its peers; the aggregator's event intake.
        case pull

        /// The libzmq socket type.
        var zmqType: Int32 {
            switch self {
            case .router: ZMQ_ROUTER
            case .dealer: ZMQ_DEALER
            case .push: ZMQ_PUSH
            case .pull: ZMQ_PULL
            }
        }

        /// The type's name as the ZeroMQ guide writes it: `ROUTER`, `DEALER`, `PUSH`, `PULL`.
        public var description: String {
            switch self {
            case .router: "ROUTER"
            case .dealer: "DEALER"
            case .push: "PUSH"
            case .pull: "PULL"
            }
        }
    }

    /// The socket's type.
    public let kind: Kind
    /// The options the socket was made with.
    public let options: Options
    /// The endpoints bound so far, as `bind` returned them (with real port numbers).
    public private(set) var boundEndpoints: [String] = []
    /// The endpoints connected so far.
    public private(set) var connectedEndpoints: [String] = []

    /// Keeps the context alive while the socket is open.
    let context: WireContext
    /// The libzmq socket; nil once closed.
    private(set) var handle: UnsafeMutableRawPointer?

    /// A new socket of `kind` in `context`, with `options` applied before any bind or connect.
    ///
    /// - Throws: `WireError` with code `.zmq` if libzmq refuses the socket or an option (a
    ///   routing id of 0 or over 255 bytes, say), or `.invalidKey` if a CURVE key is not 40 Z85
    ///   characters.
    public init(_ context: WireContext, kind: Kind, options: Options = Options()) throws(WireError) {
        self.context = context
        self.kind = kind
        self.options = options
        guard let handle = zmq_socket(context.handle, kind.zmqType) else {
            throw WireError.zmq("creating a \(kind) socket")
        }
        self.handle = handle
        do {
            try setOption(ZMQ_LINGER, "ZMQ_LINGER", int: 0)
            try options.apply(to: self)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Binds to `endpoint` and returns the endpoint actually bound (`ZMQ_LAST_ENDPOINT`), so
    /// that `tcp://127.0.0.1:*` returns the free port the system chose.
    ///
    /// - Throws: `WireError` with code `.zmq(EADDRINUSE)` and the message
    ///   `"tcp://127.0.0.1:5555: address already in use"` for a port in use, and similar for
    ///   a malformed endpoint or an `inproc://` name already bound in this context.
    @discardableResult
    public func bind(_ endpoint: String) throws(WireError) -> String {
        let handle = try openHandle(endpoint)
        guard zmq_bind(handle, endpoint) == 0 else { throw WireError.zmq(endpoint) }
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        let bound: String
        if zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 {
            bound = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        } else {
            bound = endpoint
        }
        boundEndpoints.append(bound)
        return bound
    }

    /// Unbinds `endpoint` (as `bind` returned it). An `inproc://` name is free again when this
    /// returns, whereas `close()` frees it only once libzmq's reaper thread has run.
    ///
    /// - Throws: `WireError` with code `.zmq(ENOENT)` if the endpoint is not bound.
    public func unbind(_ endpoint: String) throws(WireError) {
        let handle = try openHandle(endpoint)
        guard zmq_unbind(handle, endpoint) == 0 else { throw WireError.zmq("\(endpoint): unbinding") }
        boundEndpoints.removeAll { $0 == endpoint }
    }

    /// Connects to `endpoint`. ZeroMQ connects in the background and reconnects after a loss,
    /// so this succeeds before the peer exists; messages wait in the queue until it does.
    ///
    /// - Throws: `WireError` with code `.zmq` naming the endpoint if it is malformed or its
    ///   transport is not supported.
    public func connect(_ endpoint: String) throws(WireError) {
        let handle = try openHandle(endpoint)
        guard zmq_connect(handle, endpoint) == 0 else { throw WireError.zmq(endpoint) }
        connectedEndpoints.append(endpoint)
    }

    /// Sends `frames` as one multipart message. On a ROUTER the first frame is the routing id
    /// of the peer to send to.
    ///
    /// Blocks while the peer's queue is full (up to `Options.sendTimeoutMilliseconds`); a ROUTER
    /// without `routerMandatory` silently drops a message for an unknown peer instead.
    ///
    /// - Throws: `WireError` with code `.zmq(EHOSTUNREACH)` for an unknown peer on a ROUTER with
    ///   `routerMandatory`, `.zmq(EAGAIN)` when the send timeout passes, and `.zmq` for others.
    public func send(frames: [[UInt8]]) throws(WireError) {
        precondition(!frames.isEmpty, "a ZeroMQ message needs at least 1 frame, got 0")
        let handle = try openHandle("send")
        for (index, frame) in frames.enumerated() {
            let more = index < frames.count - 1
            try withBytes(of: frame) { (bytes) throws(WireError) in
                try sendPart(handle, bytes, more: more, peer: frames[0])
            }
        }
    }

    /// Sends `frames` followed by one more frame holding `floats` as little-endian Float32,
    /// sent straight from the buffer (no intermediate `[UInt8]`): the path for parameters and
    /// gradients. On a ROUTER the first of `frames` is the peer's routing id.
    ///
    /// - Throws: `WireError` as `send(frames:)` does.
    public func send(frames: [[UInt8]], floats: UnsafeBufferPointer<Float>) throws(WireError) {
        precondition(!frames.isEmpty, "a ZeroMQ message with a Float payload needs at least 1 frame before it, got 0")
        let handle = try openHandle("send")
        for frame in frames {
            try withBytes(of: frame) { (bytes) throws(WireError) in
                try sendPart(handle, bytes, more: true, peer: frames[0])
            }
        }
        #if _endian(little)
        try sendPart(handle, UnsafeRawBufferPointer(floats), more: false, peer: frames[0])
        #else
        let bytes = WireWriter.littleEndianBytes(of: floats)
        try withBytes(of: bytes) { (raw) throws(WireError) in
            try sendPart(handle, raw, more: false, peer: frames[0])
        }
        #endif
    }

    /// Receives one multipart message, waiting up to `timeoutMilliseconds` (nil: forever).
    ///
    /// - Returns: the frames (on a ROUTER, the sender's routing id first), or nil if nothing
    ///   arrived in time or a signal interrupted the wait.
    /// - Throws: `WireError` with code `.oversized` if the message has more than
    ///   `Options.maximumFrames` frames (the whole message is consumed and dropped), and
    ///   `.zmq` if the socket or its context is closed.
    public func receive(timeoutMilliseconds: Int?) throws(WireError) -> [[UInt8]]? {
        let handle = try openHandle("receive")
        guard try WirePoller.pollOne(handle, timeoutMilliseconds: timeoutMilliseconds, socket: self) else {
            return nil
        }
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        var frames: [[UInt8]] = []
        var dropped = 0
        while true {
            zmq_msg_init(message)
            if zmq_msg_recv(message, handle, frames.isEmpty && dropped == 0 ? ZMQ_DONTWAIT : 0) < 0 {
                let number = zmq_errno()
                zmq_msg_close(message)
                if number == EINTR && (!frames.isEmpty || dropped > 0) { continue }
                if number == EAGAIN || number == EINTR { return nil }
                throw WireError.zmq("\(self): receiving", errno: number)
            }
            if frames.count < options.maximumFrames {
                let size = zmq_msg_size(message), data = zmq_msg_data(message)
                // One memcpy: Array(_:) over a raw buffer goes through the generic Sequence path.
                frames.append([UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                    if size > 0 { buffer.baseAddress!.update(from: data!.assumingMemoryBound(to: UInt8.self), count: size) }
                    count = size
                })
            } else {
                dropped += 1
            }
            let more = zmq_msg_more(message) != 0
            zmq_msg_close(message)
            if !more { break }
        }
        guard dropped == 0 else {
            throw WireError(.oversized, "\(self): dropped a message of \(frames.count + dropped) frames; the limit is \(options.maximumFrames)")
        }
        return frames
    }

    /// Closes the socket, dropping anything unsent (`ZMQ_LINGER` is 0). Closing twice is fine;
    /// any later use throws.
    public func close() {
        guard let handle else { return }
        zmq_close(handle)
        self.handle = nil
    }

    /// Sets an `int` option, naming it in the error.
    func setOption(_ option: Int32, _ name: String, int value: Int32) throws(WireError) {
        var value = value
        try setOption(option, name, pointer: &value, size: MemoryLayout<Int32>.size)
    }

    /// Sets an `int64_t` option, naming it in the error.
    func setOption(_ option: Int32, _ name: String, int64 value: Int64) throws(WireError) {
        var value = value
        try setOption(option, name, pointer: &value, size: MemoryLayout<Int64>.size)
    }

    /// Sets a binary option (routing id, key, domain), naming it in the error.
    func setOption(_ option: Int32, _ name: String, bytes: [UInt8]) throws(WireError) {
        try withBytes(of: bytes) { (raw) throws(WireError) in
            try setOption(option, name, pointer: raw.baseAddress, size: raw.count)
        }
    }

    private func setOption(_ option: Int32, _ name: String, pointer: UnsafeRawPointer?, size: Int) throws(WireError) {
        let handle = try openHandle(name)
        guard zmq_setsockopt(handle, option, pointer, size) == 0 else {
            throw WireError.zmq("\(self): setting \(name)")
        }
    }

    /// The open handle, or an error naming `action` if the socket is closed.
    func openHandle(_ action: String) throws(WireError) -> UnsafeMutableRawPointer {
        guard let handle else { throw WireError.zmq("\(kind) socket is closed; cannot \(action)", errno: ENOTSOCK) }
        return handle
    }

    /// Sends one frame, retrying if a signal interrupts a blocked send.
    private func sendPart(
        _ handle: UnsafeMutableRawPointer, _ bytes: UnsafeRawBufferPointer, more: Bool, peer: [UInt8]
    ) throws(WireError) {
        let flags = more ? ZMQ_SNDMORE : 0
        while zmq_send(handle, bytes.baseAddress, bytes.count, flags) < 0 {
            let number = zmq_errno()
            if number == EINTR { continue }
            let target = kind == .router ? "sending to peer \(WireSocket.describePeer(peer))" : "sending"
            if number == EAGAIN, let timeout = options.sendTimeoutMilliseconds {
                throw WireError(.zmq(number), "\(self): \(target): the peer's queue stayed full for \(timeout) ms")
            }
            throw WireError.zmq("\(self): \(target)", errno: number)
        }
    }

    /// Whether `endpoint` can only be reached from this machine: loopback TCP, ipc, inproc.
    public static func isLoopback(_ endpoint: String) -> Bool {
        ["tcp://127.", "tcp://localhost:", "tcp://[::1]:", "ipc://", "inproc://"].contains { endpoint.hasPrefix($0) }
    }

    /// A routing id as text: quoted if it is printable ASCII, else hexadecimal.
    public static func describePeer(_ routingID: [UInt8]) -> String {
        if !routingID.isEmpty, routingID.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "\"" + String(decoding: routingID, as: UTF8.self) + "\""
        }
        return "0x" + routingID.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }
}

extension WireSocket: CustomStringConvertible {
    /// The kind and endpoints, for messages: `ROUTER tcp://127.0.0.1:5555`.
    public var description: String {
        let endpoints = boundEndpoints + connectedEndpoints
        return endpoints.isEmpty ? "\(kind) socket" : "\(kind) \(endpoints.joined(separator: ", "))"
    }
}
