// PCA on constructed data whose axes and variances are known, its sign convention, and the
// projection's variances equal to the eigenvalues.
import AgonAnalysis
import Testing

@Suite("PCA")
struct PCATests {
    @Test("four points on two axes give those axes and their variances")
    func exactAxes() throws {
        let features = FeatureMatrix(rows: 4, columns: 3, values: [2, 0, 5, -2, 0, 5, 0, 1, 5, 0, -1, 5])
        let pca = try PCA(features, count: 2)
        #expect(pca.mean == [0, 0, 5])
        #expect(zip(pca.components[0], [1.0, 0, 0]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(zip(pca.components[1], [0.0, 1, 0]).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(abs(pca.variances[0] - 8.0 / 3) < 1e-12 && abs(pca.variances[1] - 2.0 / 3) < 1e-12)
        #expect(abs(pca.explainedVarianceRatios[0] - 0.8) < 1e-12)
        let projected = pca.projected(features)
        #expect(projected.values == [2, 0, -2, 0, 0, 1, 0, -1])
    }

    @Test("a rotated Gaussian: components along its axes, largest entry positive, projections with the eigenvalues' variance")
    func rotatedGaussian() throws {
        let (n, d) = (2000, 5)
        // Orthonormal axes u, v, w: a rotation of the first three coordinates, then a shift.
        let s = 0.5.squareRoot()
        let u = [s, -s, 0, 0, 0], v = [0.5, 0.5, -s, 0, 0], w = [0.5, 0.5, s, 0, 0]
        let z = gaussianFeatures(rows: n, columns: 3, seed: 17)
        var values = [Float](repeating: 0, count: n * d)
        for i in 0..<n {
            for j in 0..<d {
                let value = 3 * Double(z[i * 3]) * u[j] + 1 * Double(z[i * 3 + 1]) * v[j] + 0.1 * Double(z[i * 3 + 2]) * w[j]
                values[i * d + j] = Float(value + Double(j) * 10)
            }
        }
        let features = FeatureMatrix(rows: n, columns: d, values: values)
        let pca = try PCA(features, count: 3)
        for (component, axis) in zip(pca.components, [u, v, w]) {
            let cosine = zip(component, axis).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(abs(cosine) - 1) < 1e-3, "component \(component) against axis \(axis)")
            let largest = component.indices.max { abs(component[$0]) < abs(component[$1]) }!
            #expect(component[largest] > 0)
        }
        #expect(abs(pca.variances[0] - 9) < 0.7 && abs(pca.variances[1] - 1) < 0.1 && abs(pca.variances[2] - 0.01) < 0.002)
        let projected = pca.projected(features)
        for c in 0..<3 {
            let column = (0..<n).map { Double(projected.values[$0 * 3 + c]) }
            let mean = column.reduce(0, +) / Double(n)
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
            #expect(abs(mean) < 1e-4)
            #expect(abs(variance - pca.variances[c]) < 1e-4 * pca.variances[c] + 1e-6)
        }
    }
}
