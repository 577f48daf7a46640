// `agon eval`: the sample quality of a GAN checkpoint, measured on the features of the
// committed Fashion-MNIST classifier: FID, KID, precision/recall, density/coverage, the
// Inception Score analogue and the class histogram of generated samples.
import AgonAnalysis
import AgonNN
import AgonTensor
import AgonTraining
import ArgumentParser
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a GAN checkpoint's samples against real test images.",
        discussion: """
        Generates --samples images from the checkpoint's G, takes as many real images from the \
        data set's test split, and compares them on the classifier's penultimate features.
        """)

    @Option(help: "A checkpoint written by agon train or agon run (checkpoints/step-N.safetensors).")
    var checkpoint: String

    @Option(parsing: .unconditional, help: "Generated and real samples compared (at most the test split's 10,000).")
    var samples: Int = 10_000

    @Option(help: "The feature extractor (default: models/fashion-mnist-classifier.safetensors under $AGON_HOME, above the agon executable, or here).")
    var classifier: String?

    @Option(help: "Folder of IDX files (the t10k split is used).")
    var data: String = ImageDataset.defaultDirectory

    @Option(help: "Write the real and generated features as safetensors tensors `real` and `fake`.")
    var featuresOut: String?

    @Option(help: "Seed of the latent vectors.")
    var seed: UInt64 = 1

    @Flag(help: "Print the metrics as one JSON object.")
    var json = false

    func validate() throws {
        guard samples >= 10 else { throw ValidationError("--samples must be at least 10, got \(samples)") }
    }

    func run() throws {
        let started = Date()
        let engine = Engine(threads: 1)
        let model = try Self.loadGenerator(checkpoint, engine: engine)
        let classifier = try ClassifierLocation.resolve(self.classifier)
        let extractor = try Classifier.load(path: classifier, engine: engine)
        let test = try ImageDataset.load(directory: data, split: .test)
        let reference = QualityReference(test: test, count: samples, classifier: extractor)
        let count = reference.count
        let fake = QualityLatents(count: count, latentSize: model.latentSize, seed: seed).images(of: model)
        let quality = try SampleQuality(fake: fake, reference: reference, classifier: extractor, engine: engine)
        if let featuresOut {
            try SafeTensors(metadata: ["checkpoint": checkpoint, "classifier": classifier, "samples": String(count)],
                            tensors: [("real", reference.features), ("fake", quality.fakeFeatures)]).write(to: featuresOut)
        }
        let seconds = Date().timeIntervalSince(started)
        let values = quality.jsonValues + [("samples", count), ("seconds", seconds)]
        if json {
            let data = try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: values), options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (key, value) in values { print("\(key): \(value)") }
        }
    }

    /// The GAN of a checkpoint, its parameters and moving statistics loaded.
    static func loadGenerator(_ path: String, engine: Engine) throws -> GANModel {
        let file = try SafeTensors.read(path: path)
        guard let kind = GANModel.Kind(rawValue: file.metadata["model"] ?? "") else {
            throw RuntimeError("\(path): not an agon checkpoint (no model in its metadata)")
        }
        // The DCGAN's width from its first kernel, [latent, 49·w₁].
        let divisor = kind == .dcgan ? max(1, 256 / max(1, (file["g/0_dense/kernel"]?.shape.last ?? 12_544) / 49)) : 1
        let model = GANModel(kind, engine: engine, seed: 0, widthDivisor: divisor, dropout: 0)
        for (name, parameter) in model.generator.namedParameters {
            guard let tensor = file[name], tensor.shape == parameter.shape else {
                throw RuntimeError("\(path): \(name) is missing or has another shape than a \(kind.rawValue) generator's \(parameter.shape)")
            }
            parameter.value.copy(from: tensor)
        }
        return model
    }
}
