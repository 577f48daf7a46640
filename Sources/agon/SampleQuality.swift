// Sample quality on the classifier's features, shared by `agon eval` and the coordinator's
// measurements during a run: the fixed latent vectors, G's images for them, the real side
// computed once, and FID, KID, precision/recall, density/coverage, IS and the class histogram.
import AgonAnalysis
import AgonNN
import AgonTensor
import AgonTraining

/// The latent vectors a quality measurement generates from: vector i is drawn from the
/// `.latent` stream at counter `(UInt32.max, i)`, so it is the same for a seed in every process
/// and at every measurement, and no training step (which counts from step 0) draws it.
struct QualityLatents: @unchecked Sendable {
    /// Rows per G forward pass: bounds the memory of a pass, not the result.
    static let chunkSize = 500

    /// The number of vectors.
    let count: Int
    /// The vectors, `chunkSize` rows per tensor (the last may be shorter).
    private let chunks: [Tensor]

    /// `count` vectors of `latentSize` values for `seed`.
    init(count: Int, latentSize: Int, seed: UInt64) {
        precondition(count >= 1 && latentSize >= 1, "QualityLatents: count \(count) and latent size \(latentSize) must be positive")
        self.count = count
        let random = CounterRandom(seed: seed)
        chunks = stride(from: 0, to: count, by: Self.chunkSize).map { start in
            let n = min(Self.chunkSize, count - start)
            let z = Tensor(zeros: [n, latentSize])
            for i in 0..<n {
                random.fillNormal(z.pointer + i * latentSize, count: latentSize, stream: .latent, UInt32.max, UInt32(start + i))
            }
            return z
        }
    }

    /// G's images for the vectors, in inference mode, `(count, 28, 28, 1)`: a tensor of their
    /// own, which the model's next forward pass does not overwrite.
    ///
    /// - Precondition: the model's latent size is the vectors'.
    func images(of model: GANModel) -> Tensor {
        precondition(chunks[0].shape[1] == model.latentSize,
                     "QualityLatents: vectors of \(chunks[0].shape[1]) values for a G whose latent size is \(model.latentSize)")
        let pixels = model.imageShape.reduce(1, *)
        let images = Tensor(zeros: [count] + model.imageShape)
        var start = 0
        for z in chunks {
            (images.pointer + start * pixels).update(from: model.samples(z).pointer, count: z.rows * pixels)
            start += z.rows
        }
        return images
    }
}

/// The real side of a comparison: the first `count` images of a data set's test split and
/// their classifier features, computed once.
struct QualityReference: @unchecked Sendable {
    /// The real images, `(count, 28, 28, 1)` in [−1, 1].
    let images: Tensor
    /// Their penultimate-layer features, `(count, 128)`.
    let features: Tensor

    /// The first `count` images of `test` (all of them if it holds fewer) and their features.
    init(test: ImageDataset, count: Int, classifier: Classifier) {
        let n = min(count, test.count)
        images = Tensor(zeros: [n, test.height, test.width, 1])
        test.fillImages(indices: 0..<n, into: images.pointer)
        features = classifier.features(images)
    }

    /// The number of real images.
    var count: Int { images.rows }
}

/// What `agon eval` reports and the coordinator sends as `quality/…` events.
struct SampleQuality: Sendable {
    var fid: Double
    var kid: KernelInceptionDistance
    var precisionRecall: PrecisionRecall
    var inceptionScore: InceptionScore
    var classes: ClassHistogram
    /// The generated images' features, `(N, 128)`, for `agon eval --features-out`.
    var fakeFeatures: Tensor

    /// Measures `fake` images against `reference` on `classifier`, whose engine (and
    /// `engine`, for the KID and nearest-neighbour products) must belong to the calling thread.
    ///
    /// Throws `AnalysisError` (non-finite features from a diverged G, too few samples).
    init(fake: Tensor, reference: QualityReference, classifier: Classifier, engine: Engine) throws {
        fakeFeatures = classifier.features(fake)
        let r = FeatureMatrix(reference.features), f = FeatureMatrix(fakeFeatures)
        fid = try FrechetDistance.between(r, f)
        // KID averages 100 subsets of 1000 (Bińkowski et al.'s and torch-fidelity's setting);
        // with no more samples than that, every subset is all of them, so one gives the same mean.
        let subsetSize = 1000
        kid = try KernelInceptionDistance.between(r, f, engine: engine, subsets: min(r.rows, f.rows) <= subsetSize ? 1 : 100,
                                                  subsetSize: subsetSize)
        precisionRecall = try PrecisionRecall.between(r, f, engine: engine)
        let probabilities = FeatureMatrix(classifier.probabilities(fake))
        inceptionScore = try InceptionScore(probabilities: probabilities)
        classes = try ClassHistogram(probabilities: probabilities)
    }

    /// The metrics as `agon eval --json` names them.
    var jsonValues: [(String, Any)] {
        [("fid", fid), ("kid", kid.mean), ("kid_std", kid.standardDeviation),
         ("precision", precisionRecall.precision), ("recall", precisionRecall.recall),
         ("density", precisionRecall.density), ("coverage", precisionRecall.coverage),
         ("inception_score", inceptionScore.mean), ("inception_score_std", inceptionScore.standardDeviation),
         ("class_counts", classes.counts), ("class_entropy", classes.normalizedEntropy),
         ("missing_classes", classes.missingClasses)]
    }

    /// The scalar tags of a run's quality event (`quality/fid`, …), as the aggregator stores them.
    var eventScalars: [(tag: String, value: Double)] {
        [("quality/fid", fid), ("quality/kid", kid.mean),
         ("quality/precision", precisionRecall.precision), ("quality/recall", precisionRecall.recall),
         ("quality/density", precisionRecall.density), ("quality/coverage", precisionRecall.coverage),
         ("quality/inception_score", inceptionScore.mean), ("quality/class_entropy", classes.normalizedEntropy),
         ("quality/missing_classes", Double(classes.missingClasses))]
    }
}
