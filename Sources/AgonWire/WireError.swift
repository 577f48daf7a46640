// The one error type of AgonWire: a message that could not be decoded, a ZeroMQ call that
// failed, or a CURVE key or key file that could not be used.

import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Something on the wire went wrong: a malformed, oversized or foreign message, a failed
/// ZeroMQ call, or an unusable CURVE key.
///
/// `message` is one line that names what was involved (an endpoint, a peer, a field, a file)
/// and what was wrong with it, e.g. `tcp://127.0.0.1:5555: address already in use`.
/// `description` adds the underlying cause, if any.
public struct WireError: Error, CustomStringConvertible {
    /// What kind of failure this is, for code that reacts to some of them.
    public enum Code: Sendable, Hashable {
        /// The frames do not form a message: wrong frame count, trailing header bytes, a payload
        /// that is not whole Float32 values, invalid UTF-8, a field value out of its range.
        case malformed
        /// The header ends before a field, or a string's length runs past the end.
        case truncated
        /// The header's version byte is not `WireMessage.protocolVersion`.
        case wrongVersion
        /// The header's kind byte names no message of this protocol version.
        case unknownKind
        /// A frame, or the number of frames, is over its limit.
        case oversized
        /// A ZeroMQ call failed with this `errno` (`EHOSTUNREACH`, `EADDRINUSE`, `EAGAIN`, ...).
        case zmq(Int32)
        /// A CURVE key is not 40 Z85 characters (32 bytes).
        case invalidKey
        /// A key file or folder could not be read or written; the `errno` of the failed call.
        case io(Int32)
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line naming what was involved and what was wrong.
    public var message: String
    /// The error this one wraps, if any.
    public var cause: (any Error)?

    /// An error of `code` with a one-line `message` and an optional wrapped cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The message, then the cause where there is one.
    public var description: String {
        guard let cause else { return message }
        return "\(message): \(cause)"
    }

    /// The error for a failed ZeroMQ call: `"<subject>: <errno text>"`, code `.zmq(errno)`.
    static func zmq(_ subject: String, errno number: Int32 = zmq_errno()) -> WireError {
        WireError(.zmq(number), "\(subject): \(errorText(number))")
    }

    /// The error for a failed system call on a file: `"<path>: <errno text>"`, code `.io(errno)`.
    static func io(_ subject: String, errno number: Int32) -> WireError {
        WireError(.io(number), "\(subject): \(errorText(number))")
    }

    /// libzmq's text for `errno`, first letter lowercased to read inside a sentence.
    static func errorText(_ number: Int32) -> String {
        let text = String(cString: zmq_strerror(number))
        guard let first = text.first else { return "error \(number)" }
        return first.lowercased() + text.dropFirst()
    }
}
