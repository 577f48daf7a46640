// Why a TensorBoard event file could not be created or written, naming the file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An event file could not be created or written.
///
/// `message` names the file and says what was wrong and how to fix it; `description` adds the
/// system error, if any, and the underlying cause.
public struct TensorBoardError: Error, CustomStringConvertible {
    /// What kind of failure this is, for code that reacts to some of them.
    public enum Code: Sendable, Hashable {
        /// The log folder could not be created.
        case directory
        /// A system call (open, write, ftruncate, close) failed; see `posixCode`.
        case io
        /// The event file already exists: another writer has the same time, host, pid and index.
        case fileExists
        /// The host name cannot be part of a file name (empty, or holding "/").
        case invalidHostName
        /// The writer was closed.
        case closed
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line naming the file and what was wrong with it.
    public var message: String
    /// The `errno` of a failed system call, for `.io`, `.directory` and `.fileExists`.
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
