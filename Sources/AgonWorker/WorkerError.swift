// The one error type of AgonWorker: why a worker stopped early.

/// A worker could not join, was refused, or lost its coordinator for good.
public struct WorkerError: Error, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// No welcome within the join timeout.
        case unreachable
        /// The coordinator refused this worker.
        case refused
        /// The coordinator stayed away past the reconnect timeout.
        case coordinatorGone
        /// The coordinator's run settings could not be read.
        case badConfiguration
    }

    public let code: Code
    /// One line: the endpoint and what went wrong.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
