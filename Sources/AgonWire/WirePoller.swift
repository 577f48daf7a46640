// Waits for any of several sockets to have a message to read (zmq_poll).

import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits until one or more of its sockets can be read without blocking.
///
/// Like the sockets it polls, a poller is used by one thread at a time.
public struct WirePoller: Sendable {
    /// The sockets polled, in the order `poll` reports them.
    public let sockets: [WireSocket]

    /// A poller over `sockets`.
    public init(_ sockets: [WireSocket]) {
        precondition(!sockets.isEmpty, "a WirePoller needs at least 1 socket, got 0")
        self.sockets = sockets
    }

    /// Waits up to `timeoutMilliseconds` (nil: for ever) for a message on any socket.
    ///
    /// - Returns: the indices in `sockets` of those with a message to read, in increasing
    ///   order; empty if the time ran out or a signal interrupted the wait.
    /// - Throws: `WireError` with code `.zmq` if a socket or the context is closed.
    public func poll(timeoutMilliseconds: Int?) throws(WireError) -> [Int] {
        var items: [zmq_pollitem_t] = []
        items.reserveCapacity(sockets.count)
        for socket in sockets {
            let handle = try socket.openHandle("poll")
            items.append(zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0))
        }
        let count = Int32(items.count)
        let rc = zmq_poll(&items, count, timeoutMilliseconds ?? -1)
        if rc < 0 {
            let number = zmq_errno()
            if number == EINTR { return [] }
            throw WireError.zmq("polling \(sockets.map(\.description).joined(separator: "; "))", errno: number)
        }
        return items.indices.filter { items[$0].revents & Int16(ZMQ_POLLIN) != 0 }
    }

    /// Waits for one socket's handle; false on timeout or a signal.
    static func pollOne(
        _ handle: UnsafeMutableRawPointer, timeoutMilliseconds: Int?, socket: WireSocket
    ) throws(WireError) -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let rc = zmq_poll(&item, 1, timeoutMilliseconds ?? -1)
        if rc < 0 {
            let number = zmq_errno()
            if number == EINTR { return false }
            throw WireError.zmq("\(socket): polling", errno: number)
        }
        return item.revents & Int16(ZMQ_POLLIN) != 0
    }
}
