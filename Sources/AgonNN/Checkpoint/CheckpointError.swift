// The one error type of AgonNN: what went wrong reading or writing a checkpoint, and where.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A checkpoint could not be read or written.
///
/// `message` names the file (or other input) and says what was wrong with it; `description`
/// adds the system error, if any, and the underlying cause.
public struct CheckpointError: Error, CustomStringConvertible {
    /// What kind of failure this is, for code that reacts to some of them.
    public enum Code: Sendable, Hashable {
        /// A system call (open, read, write, fsync, rename) failed; see `posixCode`.
        case io
        /// The input ends before the 8-byte length, the header or the tensor data does.
        case truncated
        /// The header length exceeds the 100,000,000-byte limit.
        case headerTooLarge
        /// The header is not UTF-8, not JSON, or not the shape safetensors expects.
        case invalidHeader
        /// `__metadata__` is not an object of string values.
        case invalidMetadata
        /// A tensor's dtype is not F32, the only one Agon reads and writes.
        case unsupportedDType
        /// Data offsets are not contiguous from 0: a hole, an overlap or a reversed range.
        case invalidOffsets
        /// A tensor's byte range does not hold product(shape) × 4 bytes.
        case sizeMismatch
        /// Bytes follow the last tensor's data.
        case trailingBytes
        /// Two tensors (or two keys of one object) have the same name.
        case duplicateName
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line naming the input and what was wrong with it.
    public var message: String
    /// The `errno` of a failed system call, for `.io`.
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
