// The input every metric reads: N samples of D features (or N rows of C class probabilities),
// row-major Float32, as a classifier's penultimate layer or softmax writes them.
import AgonTensor

/// N rows of D Float32 values, row-major: row `i` is `values[i * columns ..< (i + 1) * columns]`.
///
/// A value type, so a metric can never see its input change under it; `init(_:)` copies an
/// AgonTensor `Tensor` of shape [N, D] out of its shared storage.
public struct FeatureMatrix: Sendable, Equatable {
    /// The number of samples, N.
    public let rows: Int
    /// The number of features per sample, D (or classes, C, for probabilities).
    public let columns: Int
    /// The `rows × columns` values, row-major.
    public let values: [Float]

    /// A matrix of `rows × columns` row-major `values`.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 1, "a feature matrix needs rows ≥ 0 and columns ≥ 1, got \(rows) × \(columns)")
        precondition(values.count == rows * columns, "\(values.count) values do not fill a \(rows) × \(columns) feature matrix")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A copy of a rank-2 tensor of shape [N, D].
    public init(_ tensor: Tensor) {
        precondition(tensor.shape.count == 2, "features must be a tensor of shape [N, D], got \(tensor.shape)")
        self.init(rows: tensor.shape[0], columns: tensor.shape[1], values: tensor.scalars)
    }

    /// The matrix as a new tensor of shape [N, D].
    public var tensor: Tensor { Tensor(shape: [rows, columns], values: values) }

    /// Row `i` copied out, for tests and small inspections.
    public func row(_ i: Int) -> [Float] {
        precondition(i >= 0 && i < rows, "row \(i) is outside 0..<\(rows)")
        return Array(values[i * columns ..< (i + 1) * columns])
    }

    /// Throws `.nonFiniteValue` naming the first NaN or infinity and the input `name`.
    func requireFinite(_ name: String) throws {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw AnalysisError(.nonFiniteValue, "\(name) has \(values[index]) at row \(index / columns), column \(index % columns); drop or fix non-finite samples before measuring")
        }
    }

    /// Throws `.tooFewSamples` unless there are at least `minimum` rows.
    func requireRows(atLeast minimum: Int, _ name: String, for metric: String) throws {
        guard rows >= minimum else {
            throw AnalysisError(.tooFewSamples, "\(name) has \(rows) samples but \(metric) needs at least \(minimum); generate or load more")
        }
    }
}

/// Throws `.dimensionMismatch` unless `real` and `fake` have the same number of columns.
func requireSameDimension(_ real: FeatureMatrix, _ fake: FeatureMatrix, for metric: String) throws {
    guard real.columns == fake.columns else {
        throw AnalysisError(.dimensionMismatch, "\(metric): real features have \(real.columns) dimensions but fake ones have \(fake.columns); take both from the same classifier layer")
    }
}
