// Whether a connecting socket's peer is there, and why a handshake failed: libzmq's socket
// monitor, read without blocking, so that a worker can tell a coordinator that is gone from one
// that is slow, and a refused key from a coordinator that is not up yet.

import CZeroMQ
import Foundation

/// Watches the connections of one socket (`zmq_socket_monitor`): libzmq reports each connect,
/// disconnect, failed attempt and failed handshake on an inproc PAIR socket, which
/// `isConnected` and `handshakeFailure` drain without blocking.
///
/// Close it (or let it go) before the socket it watches.
public final class WireConnectionMonitor: @unchecked Sendable {
    private var watched: UnsafeMutableRawPointer?
    private var pair: UnsafeMutableRawPointer?
    private var connected = false
    private var handshook = false
    private var failure: HandshakeFailure?
    private var retries = 0

    /// Starts watching `socket`, which must not be closed while this lives; with
    /// `handshakesOnly`, only handshakes are reported (not connects, disconnects and retries).
    ///
    /// Read it (any property) while it lives: libzmq 4.3 stalls the watched socket's
    /// reconnections once some 2,000 unread events fill the monitor (seen with a socket retrying
    /// every millisecond for 4 s: it never reached the server bound after).
    ///
    /// - Throws: `WireError` with code `.zmq` if libzmq cannot start the monitor.
    public init(_ socket: WireSocket, handshakesOnly: Bool = false) throws(WireError) {
        let handle = try socket.openHandle("monitor")
        let endpoint = "inproc://agon-monitor-" + UUID().uuidString
        let handshakes = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
            | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
        let events = handshakesOnly ? handshakes : handshakes | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED
        guard zmq_socket_monitor(handle, endpoint, events) == 0 else { throw WireError.zmq("\(socket): starting a monitor") }
        watched = handle
        guard let pair = zmq_socket(socket.contextHandle, ZMQ_PAIR) else {
            close()
            throw WireError.zmq("\(socket): creating a monitor socket")
        }
        self.pair = pair
        var linger: Int32 = 0
        zmq_setsockopt(pair, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_connect(pair, endpoint) == 0 else {
            close()
            throw WireError.zmq("\(socket): connecting a monitor socket")
        }
    }

    deinit { close() }

    /// True while a connection to the peer is up: the last event was a connect (or a finished
    /// handshake), not a disconnect. False until the first connection.
    public var isConnected: Bool {
        drain()
        return connected
    }

    /// True while a connection is up and its handshake (CURVE's, say) has succeeded.
    public var hasCompletedHandshake: Bool {
        drain()
        return handshook
    }

    /// The last handshake that failed since the last one that succeeded (nil if none did).
    public var handshakeFailure: HandshakeFailure? {
        drain()
        return failure
    }

    /// Connection attempts that failed (refused, unreachable, a name that does not resolve)
    /// since the watch began.
    public var failedAttempts: Int {
        drain()
        return retries
    }

    /// Reads every event waiting on the monitor socket.
    private func drain() {
        guard let pair else { return }
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        // Each event is two frames: 2 bytes of event number and 4 of value, then the address.
        while true {
            zmq_msg_init(message)
            guard zmq_msg_recv(message, pair, ZMQ_DONTWAIT) >= 0 else {
                zmq_msg_close(message)
                return
            }
            if zmq_msg_size(message) >= 6 {
                let data = UnsafeRawPointer(zmq_msg_data(message)!)
                let event = Int32(data.loadUnaligned(as: UInt16.self))   // host order
                record(event: event, value: data.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            }
            var more = zmq_msg_more(message) != 0
            zmq_msg_close(message)
            while more {   // the address frame
                zmq_msg_init(message)
                if zmq_msg_recv(message, pair, 0) < 0 { more = false } else { more = zmq_msg_more(message) != 0 }
                zmq_msg_close(message)
            }
        }
    }

    private func record(event: Int32, value: UInt32) {
        switch event {
        case ZMQ_EVENT_CONNECTED: connected = true
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            connected = true
            handshook = true
            failure = nil
        case ZMQ_EVENT_DISCONNECTED:
            connected = false
            handshook = false
        case ZMQ_EVENT_CONNECT_RETRIED: retries += 1
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: failure = .refused(status: Int(value)); connected = false
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: failure = .protocolError(code: value); connected = false
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            let count = if case .closed(let earlier) = failure { earlier + 1 } else { 1 }
            failure = .closed(count: count)
            connected = false
        default: break
        }
    }

    /// Stops the monitor and closes its socket. Closing twice is fine.
    public func close() {
        if let watched { zmq_socket_monitor(watched, nil, 0) }
        watched = nil
        if let pair { zmq_close(pair) }
        pair = nil
    }
}

/// Why a connection's handshake failed, as libzmq's monitor tells the connecting side.
public enum HandshakeFailure: Sendable, Equatable {
    /// The server's ZAP handler refused this client (`ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`), with
    /// its status code: 400 for a CURVE key it does not admit.
    case refused(status: Int)
    /// The peers do not speak the same protocol (`ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`), with
    /// libzmq's `ZMQ_PROTOCOL_ERROR_*` code.
    case protocolError(code: UInt32)
    /// The server closed the connection during the handshake without saying why
    /// (`ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL`), `count` times in a row: what a CURVE client
    /// sees when its server key is not the server's, since the server cannot read its hello.
    case closed(count: Int)

    /// One side uses CURVE and the other does not (`ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`).
    public var isMechanismMismatch: Bool { self == .protocolError(code: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)) }
}

extension WireSocket {
    /// The libzmq context this socket lives in, for sockets made beside it.
    var contextHandle: UnsafeMutableRawPointer { context.handle }
}
