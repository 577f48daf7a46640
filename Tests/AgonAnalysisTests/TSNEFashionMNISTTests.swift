// The promise: t-SNE of 1,000 real Fashion-MNIST test images' classifier features keeps
// neighbourhoods (trustworthiness ≥ 0.9 at k = 5), exactly, and with Barnes-Hut on 2,500.
import AgonAnalysis
import AgonTensor
import AgonTraining
import Foundation
import Testing

private let dataDirectory = ImageDataset.defaultDirectory
private let classifierPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models/fashion-mnist-classifier.safetensors").path

/// The classifier's features of the first `count` test images.
private func testFeatures(count: Int) throws -> FeatureMatrix {
    let engine = Engine()
    let classifier = try Classifier.load(path: classifierPath, engine: engine)
    let test = try ImageDataset.load(directory: dataDirectory, split: .test)
    let images = Tensor(zeros: [count, 28, 28, 1])
    test.fillImages(indices: 0..<count, into: images.pointer)
    return FeatureMatrix(classifier.features(images))
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

@Suite("t-SNE of Fashion-MNIST features", .enabled(if: FileManager.default.fileExists(atPath: dataDirectory + "/t10k-images-idx3-ubyte.gz"),
                                                    "needs the dataset-fashion-mnist Debian package"))
struct TSNEFashionMNISTTests {
    @Test("exact t-SNE of 1,000 test images keeps neighbourhoods: trustworthiness(k = 5) ≥ 0.9")
    func exactKeepsNeighbourhoods() throws {
        let features = try testFeatures(count: 1000)
        let tsne = TSNE()
        #expect(tsne.usesExactGradient(forCount: 1000))
        var embedding = features
        let elapsed = try ContinuousClock().measure { embedding = try tsne.embedding(of: features) }
        let trust = try Trustworthiness.between(features, embedding, neighbors: 5)
        let pca = try PCA(features).projected(features)
        let pcaTrust = try Trustworthiness.between(features, pca, neighbors: 5)
        print("t-SNE exact, 1,000 points × \(tsne.iterations) iterations: \(seconds(elapsed)) s; trustworthiness(5) \(trust); PCA's \(pcaTrust)")
        #expect(trust >= 0.9)
        #expect(trust > pcaTrust, "t-SNE should keep neighbourhoods better than a linear projection")
    }

    @Test("Barnes-Hut t-SNE of 2,500 test images keeps neighbourhoods as well")
    func barnesHutKeepsNeighbourhoods() throws {
        let features = try testFeatures(count: 2500)
        let tsne = TSNE()
        #expect(!tsne.usesExactGradient(forCount: 2500))
        var embedding = features
        let elapsed = try ContinuousClock().measure { embedding = try tsne.embedding(of: features) }
        let trust = try Trustworthiness.between(features, embedding, neighbors: 5)
        print("t-SNE Barnes-Hut, 2,500 points × \(tsne.iterations) iterations: \(seconds(elapsed)) s; trustworthiness(5) \(trust)")
        #expect(trust >= 0.9)
    }
}
