// t-SNE of a feature set to two dimensions: the exact gradient up to a few thousand points,
// Barnes-Hut above. The O(n²) and tree loops are in C (CAgonKernels/embedding.c).
import AgonTensor
import CAgonKernels

/// t-distributed stochastic neighbour embedding into the plane.
///
/// Van der Maaten and Hinton, "Visualizing Data using t-SNE" (JMLR 2008), optimised as in
/// van der Maaten's reference `tsne.m`; above `exactLimit` points, van der Maaten,
/// "Accelerating t-SNE using Tree-Based Algorithms" (JMLR 2014), as in his `bhtsne`:
/// ```
/// p_j|i = exp(−βᵢ ‖xᵢ − xⱼ‖²) / Σ_{l≠i} exp(−βᵢ ‖xᵢ − xₗ‖²),  βᵢ by bisection so that
///         H(P_i) = log(perplexity)   (nats)
/// p_ij  = (p_j|i + p_i|j) / 2n
/// q_ij  = (1 + ‖yᵢ − yⱼ‖²)⁻¹ / Z,   Z = Σ_{k≠l} (1 + ‖y_k − y_l‖²)⁻¹
/// ∂KL/∂yᵢ = 4 Σⱼ (α p_ij − q_ij) (1 + ‖yᵢ − yⱼ‖²)⁻¹ (yᵢ − yⱼ)
/// ```
/// with α = `earlyExaggeration` for the first `exaggerationIterations`, then 1. Descent uses
/// momentum (`initialMomentum`, then `finalMomentum` once exaggeration ends) and Jacobs'
/// per-coordinate gains (+0.2 while the direction holds, ×0.8 when it flips, at least 0.01),
/// and re-centres the points every step. Points start N(0, 10⁻⁴ I) from `seed`.
///
/// Barnes-Hut keeps p_j|i only for the ⌊3 · perplexity⌋ nearest neighbours of each point and
/// sums the repulsion from a quadtree, a cell of half side h at distance √D from the point
/// standing for all of its points when h / √D < θ, as bhtsne's `SPTree` tests it
/// (scikit-learn's `angle` compares the full side, so its θ = 0.5 is our 0.25).
///
/// Deviations from the references: the default learning rate is scikit-learn's `"auto"`,
/// max(N / α / 4, 50) (Belkina et al. 2019), on the gradient with its factor 4, where tsne.m
/// uses 500 and bhtsne 200 without the factor; there is no early stop on a small gradient.
public struct TSNE: Sendable {
    /// How the gradient is computed.
    public enum Method: Sendable, Hashable {
        /// Exact up to `exactLimit` points, Barnes-Hut above.
        case automatic
        /// Every pair, O(N²) per iteration.
        case exact
        /// Sparse affinities and a quadtree, O(N log N) per iteration.
        case barnesHut
    }

    /// The most points `.automatic` embeds with the exact gradient.
    public static let exactLimit = 2000

    /// The effective number of neighbours each point's affinities are calibrated to.
    public var perplexity: Double
    /// Gradient steps in all.
    public var iterations: Int
    /// α, the factor on P at the start, which lets clusters form and separate.
    public var earlyExaggeration: Double
    /// Steps with α; momentum switches to `finalMomentum` at the same step.
    public var exaggerationIterations: Int
    /// The step size; nil for max(N / α / 4, 50).
    public var learningRate: Double?
    /// Momentum while P is exaggerated.
    public var initialMomentum: Double
    /// Momentum after.
    public var finalMomentum: Double
    /// Barnes-Hut's accuracy: smaller is more exact and slower; 0 visits every point.
    public var theta: Double
    /// Exact, Barnes-Hut, or chosen by size.
    public var method: Method
    /// The seed of the initial positions.
    public var seed: UInt64

    /// t-SNE with van der Maaten's settings: perplexity 30, 1,000 iterations, exaggeration 12
    /// for 250 of them, momentum 0.5 then 0.8, θ = 0.5.
    public init(perplexity: Double = 30, iterations: Int = 1000, earlyExaggeration: Double = 12,
                exaggerationIterations: Int = 250, learningRate: Double? = nil, initialMomentum: Double = 0.5,
                finalMomentum: Double = 0.8, theta: Double = 0.5, method: Method = .automatic, seed: UInt64 = 1) {
        precondition(perplexity > 0 && iterations >= 0 && earlyExaggeration > 0 && exaggerationIterations >= 0 && theta >= 0,
                     "t-SNE needs a positive perplexity and exaggeration and non-negative counts and θ, got perplexity \(perplexity), \(iterations) iterations, exaggeration \(earlyExaggeration) for \(exaggerationIterations), θ \(theta)")
        precondition(learningRate.map { $0 > 0 } ?? true, "t-SNE's learning rate must be positive, got \(learningRate!)")
        self.perplexity = perplexity
        self.iterations = iterations
        self.earlyExaggeration = earlyExaggeration
        self.exaggerationIterations = exaggerationIterations
        self.learningRate = learningRate
        self.initialMomentum = initialMomentum
        self.finalMomentum = finalMomentum
        self.theta = theta
        self.method = method
        self.seed = seed
    }

    /// Whether `count` points are embedded with the exact gradient.
    public func usesExactGradient(forCount count: Int) -> Bool {
        switch method {
        case .exact: true
        case .barnesHut: false
        case .automatic: count <= Self.exactLimit
        }
    }

    /// The N × 2 embedding of `features`' rows, the same for the same features and settings.
    ///
    /// - Throws: `.tooFewSamples` unless there are more rows than the perplexity;
    ///   `.nonFiniteValue` for a NaN or infinite feature; `.nonFiniteValue` if the descent
    ///   diverges (a learning rate far too large).
    public func embedding(of features: FeatureMatrix) throws -> FeatureMatrix {
        try features.requireRows(atLeast: max(2, Int(perplexity.rounded(.down)) + 1), "features", for: "t-SNE with perplexity \(perplexity)")
        try features.requireFinite("features")
        let n = features.rows
        let rate = learningRate ?? max(Double(n) / earlyExaggeration / 4, 50)
        var y = initialPositions(count: n)
        var update = [Double](repeating: 0, count: 2 * n)
        var gains = [Double](repeating: 1, count: 2 * n)
        var gradient = [Double](repeating: 0, count: 2 * n)

        let exact = usesExactGradient(forCount: n)
        let dense = exact ? TSNEAffinities.dense(features, perplexity: perplexity) : []
        let sparse = exact ? nil : TSNEAffinities.sparse(features, perplexity: perplexity)
        for iteration in 0..<iterations {
            let exaggeration = iteration < exaggerationIterations ? earlyExaggeration : 1
            let momentum = iteration < exaggerationIterations ? initialMomentum : finalMomentum
            let z = y.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { g in
                    if let sparse {
                        sparse.rowStart.withUnsafeBufferPointer { rows in
                            sparse.columns.withUnsafeBufferPointer { columns in
                                sparse.values.withUnsafeBufferPointer { values in
                                    agon_tsne_barnes_hut_gradient(y.baseAddress!, n, rows.baseAddress!, columns.baseAddress!,
                                                                  values.baseAddress!, exaggeration, theta, g.baseAddress!)
                                }
                            }
                        }
                    } else {
                        dense.withUnsafeBufferPointer { p in
                            agon_tsne_exact_gradient(y.baseAddress!, n, p.baseAddress!, exaggeration, g.baseAddress!)
                        }
                    }
                }
            }
            precondition(z >= 0, "t-SNE could not allocate its working memory for \(n) points")
            agon_tsne_step(&y, &update, &gains, gradient, n, momentum, rate, 0.01)
        }
        guard y.allSatisfy(\.isFinite) else {
            throw AnalysisError(.nonFiniteValue, "t-SNE of \(n) points diverged with learning rate \(rate); lower the learning rate")
        }
        return FeatureMatrix(rows: n, columns: 2, values: y.map { Float($0) })
    }

    /// N(0, 10⁻⁴ I) positions from `seed`, interleaved (x, y).
    func initialPositions(count n: Int) -> [Double] {
        var noise = [Float](repeating: 0, count: 2 * n)
        // A counter of its own ("tSNE"), so that no other draw from the same seed repeats it.
        CounterRandom(seed: seed).fillNormal(&noise, count: 2 * n, stream: .initializer, 0x7453_4E45, 0)
        return noise.map { 1e-4 * Double($0) }
    }
}
