// The one error type of AgonPlot: a chart or image that could not be rendered or written.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plot could not be rendered or written.
///
/// `message` names the output (a path, or "in memory") and says what went wrong; Cairo's own
/// status text is part of it. `description` adds the system error and the cause, if any.
public struct PlotError: Error, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: Sendable, Hashable {
        /// The picture is larger than Cairo's 32767-pixel limit on either side.
        case imageTooLarge
        /// Cairo failed to draw or encode (out of memory, or an internal error).
        case rendering
        /// The file could not be written or moved into place.
        case write
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line naming the output and what was wrong.
    public var message: String
    /// The `errno` of a failed system call, if one failed.
    public var posixCode: Int32?
    /// The error this one wraps, if any.
    public var cause: (any Error)?

    /// An error of `code` with `message`, the `errno` of a failed call, and a wrapped cause.
    public init(_ code: Code, _ message: String, posixCode: Int32? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.posixCode = posixCode
        self.cause = cause
    }

    /// The message, then the system error text and the cause where there are any.
    public var description: String {
        var text = message
        if let posixCode { text += " (\(String(cString: strerror(posixCode))))" }
        if let cause { text += ": \(cause)" }
        return text
    }
}
