// The pictures `agon latent` draws for one checkpoint: embeddings of real and generated
// features, latent interpolations and nearest training images; real data is loaded once.
import AgonAnalysis
import AgonNN
import AgonPlot
import AgonTensor
import AgonTraining
import CAgonKernels
import Foundation

/// Draws a checkpoint's views into `RUN/plots/latent/step-NNNNNNNN/` and publishes them to
/// `RUN/plots/`. The classifier, the real test features and the training images searched for
/// neighbours are loaded once, so that `--all` pays for them once.
final class LatentViews {
    /// What to draw with.
    struct Configuration {
        /// Generated and real samples embedded.
        var samples = 1000
        /// Training images searched for nearest neighbours.
        var references = 10_000
        /// The classifier file whose penultimate features are embedded; nil for the one found
        /// where `ClassifierLocation` looks.
        var classifier: String?
        /// The IDX folder.
        var data = ImageDataset.defaultDirectory
        /// Seed of the latent vectors, the interpolation end points and t-SNE.
        var seed: UInt64 = 1
    }

    /// Every file a checkpoint's views consist of, as the report embeds them.
    static let fileNames = ["pca.png", "pca.svg", "tsne.png", "tsne.svg", "interpolation.png", "nearest.png"]
    /// Fashion-MNIST's classes, in label order.
    static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    /// Pairs of fixed latent vectors interpolated between, and points along each path.
    static let interpolationPairs = 3, interpolationSteps = 10
    /// Generated samples shown with their nearest training images, and how many of those.
    static let nearestRows = 8, nearestColumns = 5

    let configuration: Configuration
    private let engine = Engine(threads: 1)
    private let extractor: Classifier
    private let train: ImageDataset
    /// The first `samples` test images' features and labels.
    private let realFeatures: FeatureMatrix
    private let realLabels: [Int]
    /// The first `references` training images' features.
    private let referenceFeatures: FeatureMatrix
    /// The median distance from a real test image to its nearest training image, for scale.
    private let typicalDistance: Double

    /// Loads the classifier and the data, and computes the real features.
    ///
    /// - Throws: the classifier's or the data set's error when a file is missing or invalid.
    init(configuration: Configuration) throws {
        self.configuration = configuration
        extractor = try Classifier.load(path: ClassifierLocation.resolve(configuration.classifier), engine: engine)
        let test = try ImageDataset.load(directory: configuration.data, split: .test)
        train = try ImageDataset.load(directory: configuration.data, split: .train)
        let real = QualityReference(test: test, count: configuration.samples, classifier: extractor)
        let count = real.count
        realFeatures = FeatureMatrix(real.features)
        realLabels = test.labels(at: 0..<count)
        let referenceCount = min(configuration.references, train.count)
        let references = Tensor(zeros: [referenceCount] + Classifier.imageShape)
        train.fillImages(indices: 0..<referenceCount, into: references.pointer)
        referenceFeatures = FeatureMatrix(extractor.features(references))
        let probe = FeatureMatrix(rows: min(100, count), columns: realFeatures.columns,
                                  values: Array(realFeatures.values.prefix(min(100, count) * realFeatures.columns)))
        let distances = Self.nearest(probe, in: referenceFeatures, count: 1).map { $0[0].distance }.sorted()
        typicalDistance = distances[distances.count / 2]
    }

    /// The history folder of the checkpoint after `step` steps.
    static func historyDirectory(runDirectory: String, step: Int) -> String {
        runDirectory + "/plots/latent/" + String(Checkpoint.fileName(step: step).dropLast(".safetensors".count))
    }

    /// The step of a checkpoint: from its name (`step-00000100.safetensors`), else its metadata.
    static func step(of checkpoint: String) throws -> Int {
        let name = URL(fileURLWithPath: checkpoint).lastPathComponent
        if name.hasPrefix("step-"), name.hasSuffix(".safetensors"),
           let step = Int(name.dropFirst("step-".count).dropLast(".safetensors".count)) {
            return step
        }
        guard let step = Int(try SafeTensors.read(path: checkpoint).metadata[Checkpoint.stepKey] ?? "") else {
            throw RuntimeError("\(checkpoint): no step in its name or metadata; is it an agon checkpoint?")
        }
        return step
    }

    /// Whether every view of `checkpoint` is in its history folder.
    static func hasViews(checkpoint: String, runDirectory: String) -> Bool {
        guard let step = try? step(of: checkpoint) else { return false }
        let directory = historyDirectory(runDirectory: runDirectory, step: step)
        return fileNames.allSatisfy { FileManager.default.fileExists(atPath: directory + "/" + $0) }
    }

    /// Copies `checkpoint`'s views from its history folder to `RUN/plots/`, each file replaced
    /// atomically.
    func publish(checkpoint: String, runDirectory: String) throws {
        let source = Self.historyDirectory(runDirectory: runDirectory, step: try Self.step(of: checkpoint))
        for name in Self.fileNames {
            let data = try Data(contentsOf: URL(fileURLWithPath: source + "/" + name))
            try data.write(to: URL(fileURLWithPath: runDirectory + "/plots/" + name), options: .atomic)
        }
    }

    /// Draws every view of `checkpoint` into its history folder; returns its step.
    func draw(checkpoint: String, runDirectory: String) throws -> Int {
        let step = try Self.step(of: checkpoint)
        let directory = Self.historyDirectory(runDirectory: runDirectory, step: step)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let model = try Eval.loadGenerator(checkpoint, engine: engine)
        precondition(model.imageShape == Classifier.imageShape, "a \(model.imageShape) generator does not make classifier-sized images")

        // Generated samples from the same latent vectors `agon eval` draws.
        let fake = QualityLatents(count: realFeatures.rows, latentSize: model.latentSize, seed: configuration.seed).images(of: model)
        let fakeFeatures = FeatureMatrix(extractor.features(fake))
        let predicted = Self.argmax(FeatureMatrix(extractor.logits(fake)))

        try drawEmbeddings(fakeFeatures: fakeFeatures, predicted: predicted, step: step, directory: directory)
        try drawInterpolation(model: model, step: step, to: directory + "/interpolation.png")
        try drawNearest(fake: fake, fakeFeatures: fakeFeatures, predicted: predicted, step: step, to: directory + "/nearest.png")
        return step
    }

    // MARK: The views

    /// PCA and t-SNE of real and generated features together, each as two panels.
    private func drawEmbeddings(fakeFeatures: FeatureMatrix, predicted: [Int], step: Int, directory: String) throws {
        // Real and generated rows interleaved, so that neither set is drawn wholly over the other.
        let (n, d) = (realFeatures.rows, realFeatures.columns)
        var values = [Float](repeating: 0, count: 2 * n * d)
        for i in 0..<n {
            values.replaceSubrange((2 * i) * d ..< (2 * i + 1) * d, with: realFeatures.values[i * d ..< (i + 1) * d])
            values.replaceSubrange((2 * i + 1) * d ..< (2 * i + 2) * d, with: fakeFeatures.values[i * d ..< (i + 1) * d])
        }
        let combined = FeatureMatrix(rows: 2 * n, columns: d, values: values)
        var classes: [Int] = [], sources: [Int] = []
        for i in 0..<n {
            classes += [realLabels[i], predicted[i]]
            sources += [0, 1]
        }
        let counts = "\(ChartFormat.grouped(n)) real + \(ChartFormat.grouped(n)) generated"

        func plot(_ embedding: FeatureMatrix, title: String) -> ScatterPlot {
            let x = (0..<embedding.rows).map { Double(embedding.values[$0 * 2]) }
            let y = (0..<embedding.rows).map { Double(embedding.values[$0 * 2 + 1]) }
            return ScatterPlot(title: title, panels: [
                ScatterPlot.Panel(title: "by class (real: label, generated: classifier's prediction)",
                                  categories: Self.classNames, x: x, y: y, category: classes),
                ScatterPlot.Panel(title: "real or generated", categories: ["real (test split)", "generated"],
                                  x: x, y: y, category: sources),
            ])
        }

        let pca = try PCA(combined, count: 2)
        let shares = pca.explainedVarianceRatios.map { String(format: "%.1f %%", 100 * $0) }
        let pcaPlot = plot(pca.projected(combined),
                           title: "PCA of classifier features · step \(step) · \(counts) · PC1 \(shares[0]), PC2 \(shares[1]) of variance")
        try pcaPlot.writePNG(to: directory + "/pca.png")
        try pcaPlot.writeSVG(to: directory + "/pca.svg")

        let tsne = TSNE(perplexity: min(30, Double(2 * n - 1) / 3), seed: configuration.seed)
        let method = tsne.usesExactGradient(forCount: 2 * n) ? "exact" : "Barnes-Hut θ = \(tsne.theta)"
        let tsnePlot = plot(try tsne.embedding(of: combined),
                            title: "t-SNE of classifier features · step \(step) · \(counts) · perplexity \(String(format: "%.0f", tsne.perplexity)), \(method)")
        try tsnePlot.writePNG(to: directory + "/tsne.png")
        try tsnePlot.writeSVG(to: directory + "/tsne.svg")
    }

    /// G along straight and spherical paths between pairs of fixed latent vectors: the first
    /// vectors of the sample grids of a run with the same seed.
    private func drawInterpolation(model: GANModel, step: Int, to path: String) throws {
        let (pairs, steps, latent) = (Self.interpolationPairs, Self.interpolationSteps, model.latentSize)
        let ends = model.fixedNoise(count: 2 * pairs, seed: configuration.seed).scalars
        var latents: [Float] = []
        var labels: [String] = []
        for pair in 0..<pairs {
            let a = Array(ends[(2 * pair) * latent ..< (2 * pair + 1) * latent])
            let b = Array(ends[(2 * pair + 1) * latent ..< (2 * pair + 2) * latent])
            for path in LatentPath.allCases {
                latents += path.points(from: a, to: b, steps: steps)
                labels.append("z\(2 * pair + 1) → z\(2 * pair + 2)  " + (path == .linear ? "line" : "slerp"))
            }
        }
        let images = model.samples(Tensor(shape: [labels.count * steps, latent], values: latents)).scalars
        let perRow = steps * model.imageShape.reduce(1, *)
        let rows = labels.enumerated().map { index, label in
            LabeledImageGrid.Row(label: label, images: Array(images[index * perRow ..< (index + 1) * perRow]))
        }
        let headings = (0..<steps).map { String(format: "t = %.2f", Double($0) / Double(steps - 1)) }
        try LabeledImageGrid(title: "Latent interpolation · step \(step) · lines and slerp between fixed z (seed \(configuration.seed))",
                             rows: rows, height: model.imageShape[0], width: model.imageShape[1], scale: 2, columnHeadings: headings)
            .writePNG(to: path)
    }

    /// The first generated samples, each beside its nearest training images in feature space,
    /// with the distances; the title gives the median distance from a real test image to its
    /// nearest training image, the scale at which a generated sample is a near copy.
    private func drawNearest(fake: Tensor, fakeFeatures: FeatureMatrix, predicted: [Int], step: Int, to path: String) throws {
        let count = min(Self.nearestRows, fakeFeatures.rows), pixels = Classifier.imageShape.reduce(1, *)
        let queries = FeatureMatrix(rows: count, columns: fakeFeatures.columns,
                                    values: Array(fakeFeatures.values.prefix(count * fakeFeatures.columns)))
        let neighbours = Self.nearest(queries, in: referenceFeatures, count: min(Self.nearestColumns, referenceFeatures.rows))
        let generated = fake.scalars
        let rows = (0..<count).map { i in
            let found = neighbours[i]
            let images = Tensor(zeros: [found.count] + Classifier.imageShape)
            train.fillImages(indices: found.map(\.index), into: images.pointer)
            return LabeledImageGrid.Row(label: "sample \(i + 1)",
                                        images: Array(generated[i * pixels ..< (i + 1) * pixels]) + images.scalars,
                                        captions: [Self.classNames[predicted[i]]] + found.map { String(format: "d = %.2f", $0.distance) })
        }
        let headings = ["generated"] + (1...Self.nearestColumns).map { $0 == 1 ? "nearest training" : "#\($0)" }
        try LabeledImageGrid(title: String(format: "Nearest training images · step \(step) · real test images' median d = %.2f", typicalDistance),
                             rows: rows, height: 28, width: 28, scale: 3, columnHeadings: headings)
            .writePNG(to: path)
    }

    // MARK: Helpers

    /// For each row of `queries`, its `count` nearest rows of `references` by Euclidean distance.
    static func nearest(_ queries: FeatureMatrix, in references: FeatureMatrix, count: Int) -> [[(index: Int, distance: Double)]] {
        let (r, d) = (references.rows, references.columns)
        // The queries after the references, so that one distance row reaches every reference.
        let stacked = references.values + queries.values
        var row = [Double](repeating: 0, count: r)
        var indices = [UInt32](repeating: 0, count: count)
        var distances = [Double](repeating: 0, count: count)
        return (0..<queries.rows).map { q in
            agon_squared_distances_row(stacked, r, d, r + q, &row)
            agon_nearest_in_row(row, r, r, count, &indices, &distances)
            return zip(indices, distances).map { (Int($0.0), $0.1.squareRoot()) }
        }
    }

    /// The index of each row's largest value.
    static func argmax(_ rows: FeatureMatrix) -> [Int] {
        (0..<rows.rows).map { i in
            let row = rows.values[i * rows.columns ..< (i + 1) * rows.columns]
            return row.indices.max { row[$0] < row[$1] }! - i * rows.columns
        }
    }
}
