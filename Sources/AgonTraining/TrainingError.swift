// The one error type of AgonTraining: what went wrong with which file or step, in one line,
// with the underlying cause kept for whoever wants to look deeper.

/// A failure to read a data set (a missing, unreadable, corrupt or inconsistent file) or to go
/// on training (a diverged step).
///
/// `message` is one line that starts with the file's path (or the step), says what was wrong
/// and, where the fix is obvious, how to fix it. `description` is `message` plus the underlying
/// cause, if any.
public struct TrainingError: Error, CustomStringConvertible {
    /// What kind of failure this is, for callers that react differently to each.
    public enum Code: Sendable, Equatable, CustomStringConvertible {
        /// The file (or its directory) does not exist.
        case missingFile
        /// The file exists but could not be read (permissions, a directory, an I/O error).
        case unreadableFile
        /// A gzip file ends before its compressed stream does.
        case truncatedGzip
        /// A gzip file's stream is not valid deflate data, or its checksum does not match.
        case corruptGzip
        /// The first bytes are not an IDX header (`00 00 <type> <ndims>` with ndims ≥ 1).
        case wrongMagic
        /// The IDX element type is not 0x08 (unsigned byte), the only one Agon reads.
        case unsupportedType
        /// The data after the header is shorter or longer than its dimensions say.
        case sizeMismatch
        /// An IDX file has the wrong number of dimensions for its role (images 3-D, labels 1-D).
        case wrongRank
        /// The image file and the label file disagree on the number of samples.
        case countMismatch
        /// A step's loss was NaN or infinite: training stopped, the last checkpoint kept.
        case diverged
        /// A run folder holds a run whose model differs from the one asked for.
        case settingsMismatch

        /// The code's name, as written in Swift.
        public var description: String {
            switch self {
            case .missingFile: "missingFile"
            case .unreadableFile: "unreadableFile"
            case .truncatedGzip: "truncatedGzip"
            case .corruptGzip: "corruptGzip"
            case .wrongMagic: "wrongMagic"
            case .unsupportedType: "unsupportedType"
            case .sizeMismatch: "sizeMismatch"
            case .wrongRank: "wrongRank"
            case .countMismatch: "countMismatch"
            case .diverged: "diverged"
            case .settingsMismatch: "settingsMismatch"
            }
        }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The path of the file at fault (or the step, for `.diverged`).
    public let path: String
    /// One line: the path, what was wrong and, where obvious, how to fix it.
    public let message: String
    /// The lower-level error that caused this one, if any (for example Foundation's read error).
    public let cause: (any Error)?

    /// Makes an error whose message is `"<path>: <detail>"`.
    public init(_ code: Code, path: String, _ detail: String, cause: (any Error)? = nil) {
        self.code = code
        self.path = path
        self.message = "\(path): \(detail)"
        self.cause = cause
    }

    /// The message, followed by the underlying cause when there is one.
    public var description: String {
        guard let cause else { return message }
        return "\(message) (cause: \(cause))"
    }
}
