// A ZeroMQ context: the I/O threads and the in-process (`inproc://`) namespace that sockets share.

import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ZeroMQ context (`zmq_ctx_new`), shared by the sockets of one process.
///
/// A libzmq context is thread-safe, so one `WireContext` may be shared across threads and tasks.
/// Every `WireSocket` keeps its context alive; the context terminates (`zmq_ctx_term`) when the
/// last reference goes, which is after every socket made from it has closed, so termination
/// never waits on an open socket. `inproc://` endpoints are visible only within one context, and
/// a `ZAPHandler` guards only the sockets of its own context.
public final class WireContext: @unchecked Sendable {
    /// The libzmq context; valid until `deinit`.
    let handle: UnsafeMutableRawPointer

    /// A new context with `ioThreads` background I/O threads (libzmq's default is 1, enough for
    /// about a gigabyte per second).
    ///
    /// - Throws: `WireError` with code `.zmq` if libzmq cannot create a context (out of file
    ///   descriptors or memory), or cannot set the thread count.
    public init(ioThreads: Int = 1) throws(WireError) {
        precondition(ioThreads >= 1, "a ZeroMQ context needs at least 1 I/O thread, got \(ioThreads)")
        guard let handle = zmq_ctx_new() else { throw WireError.zmq("creating a ZeroMQ context") }
        if ioThreads != 1, zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(clamping: ioThreads)) != 0 {
            let error = WireError.zmq("setting \(ioThreads) ZeroMQ I/O threads")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
    }

    deinit {
        // Every socket holds a reference to its context, so all are closed by now and
        // zmq_ctx_term returns at once; it is retried only if a signal interrupts it.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
