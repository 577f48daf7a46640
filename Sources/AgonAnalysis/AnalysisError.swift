// The one error type of AgonAnalysis: sample-quality metrics that could not be computed from
// the features or probabilities they were given.

/// A metric could not be computed.
///
/// `message` is one line saying what was wrong with the input and how to fix it; `description`
/// adds the underlying cause, if any.
public struct AnalysisError: Error, CustomStringConvertible {
    /// What kind of failure this is, for code that reacts to some of them.
    public enum Code: Sendable, Hashable {
        /// A set has fewer samples than the metric needs (two for a covariance, k + 1 for a
        /// k-nearest-neighbour radius, one per split for the Inception Score).
        case tooFewSamples
        /// Two feature sets, or a mean and a covariance, disagree on the feature dimension.
        case dimensionMismatch
        /// A feature or probability is NaN or infinite.
        case nonFiniteValue
        /// A row of class probabilities has a negative entry or does not sum to 1.
        case invalidProbabilities
        /// LAPACK's symmetric eigen-solver (`dsyevd`) reported a failure; see `lapackInfo`.
        case lapackFailure
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line naming the input and what was wrong with it.
    public var message: String
    /// The `info` value LAPACK returned, for `.lapackFailure`.
    public var lapackInfo: Int32?
    /// The error this one wraps, if any.
    public var cause: (any Error)?

    /// An error of `code` with `message`, LAPACK's `info` and a wrapped cause.
    public init(_ code: Code, _ message: String, lapackInfo: Int32? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.lapackInfo = lapackInfo
        self.cause = cause
    }

    /// The message, then LAPACK's `info` and the cause where there are any.
    public var description: String {
        var text = message
        if let lapackInfo { text += " (LAPACK info \(lapackInfo))" }
        if let cause { text += ": \(cause)" }
        return text
    }
}
