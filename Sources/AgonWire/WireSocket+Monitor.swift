// Whether a connecting socket's peer is there: libzmq's socket monitor, read without blocking,
// so that a worker stopping can tell a coordinator that is gone from one that is slow.

import CZeroMQ
import Foundation

/// Watches the connections of one socket (`zmq_socket_monitor`): libzmq reports each connect
/// and disconnect on an inproc PAIR socket, which `isConnected` drains without blocking.
///
/// Close it (or let it go) before the socket it watches.
public final class WireConnectionMonitor: @unchecked Sendable {
    private var watched: UnsafeMutableRawPointer?
    private var pair: UnsafeMutableRawPointer?
    private var connected = false

    /// Starts watching `socket`, which must not be closed while this lives.
    ///
    /// - Throws: `WireError` with code `.zmq` if libzmq cannot start the monitor.
    public init(_ socket: WireSocket) throws(WireError) {
        let handle = try socket.openHandle("monitor")
        let endpoint = "inproc://agon-monitor-" + UUID().uuidString
        let events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
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
        guard let pair else { return false }
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        // Each event is two frames: 2 bytes of event number and 4 of value, then the address.
        while true {
            zmq_msg_init(message)
            guard zmq_msg_recv(message, pair, ZMQ_DONTWAIT) >= 0 else {
                zmq_msg_close(message)
                return connected
            }
            if zmq_msg_size(message) >= 2 {
                let event = Int32(UnsafeRawPointer(zmq_msg_data(message)!).loadUnaligned(as: UInt16.self))   // host order
                connected = event != ZMQ_EVENT_DISCONNECTED
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

    /// Stops the monitor and closes its socket. Closing twice is fine.
    public func close() {
        if let watched { zmq_socket_monitor(watched, nil, 0) }
        watched = nil
        if let pair { zmq_close(pair) }
        pair = nil
    }
}

extension WireSocket {
    /// The libzmq context this socket lives in, for sockets made beside it.
    var contextHandle: UnsafeMutableRawPointer { context.handle }
}
