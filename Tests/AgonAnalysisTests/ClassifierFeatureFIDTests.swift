// FID on the committed classifier's features orders what it should: real test images against
// real training images are close, a blurred copy of the test images further, noise far.
import AgonAnalysis
import AgonTensor
import AgonTraining
import Foundation
import Testing

private let dataDirectory = ImageDataset.defaultDirectory
private let classifierPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models/fashion-mnist-classifier.safetensors").path

@Suite("FID on classifier features", .enabled(if: FileManager.default.fileExists(atPath: dataDirectory + "/t10k-images-idx3-ubyte.gz"),
                                               "needs the dataset-fashion-mnist Debian package"))
struct ClassifierFeatureFIDTests {
    @Test func realIsCloseBlurIsFurtherNoiseIsFar() throws {
        let engine = Engine()
        let classifier = try Classifier.load(path: classifierPath, engine: engine)
        let n = 1000
        let test = try ImageDataset.load(directory: dataDirectory, split: .test)
        let train = try ImageDataset.load(directory: dataDirectory, split: .train)
        let testImages = Tensor(zeros: [n, 28, 28, 1]), trainImages = Tensor(zeros: [n, 28, 28, 1])
        test.fillImages(indices: 0..<n, into: testImages.pointer)
        train.fillImages(indices: 0..<n, into: trainImages.pointer)
        // A 5×5 box blur of the test images, and uniform noise in [−1, 1].
        let blurred = Tensor(zeros: [n, 28, 28, 1]), noise = Tensor(zeros: [n, 28, 28, 1])
        for i in 0..<n {
            for y in 0..<28 {
                for x in 0..<28 {
                    var sum: Float = 0, count: Float = 0
                    for dy in -2...2 { for dx in -2...2 where (0..<28).contains(y + dy) && (0..<28).contains(x + dx) {
                        sum += testImages[i * 784 + (y + dy) * 28 + x + dx]; count += 1
                    } }
                    blurred[i * 784 + y * 28 + x] = sum / count
                }
            }
        }
        CounterRandom(seed: 3).fillUniform(noise.pointer, count: noise.count, low: -1, high: 1, stream: .fixedNoise, 9, 9)
        func features(_ images: Tensor) -> FeatureMatrix { FeatureMatrix(classifier.features(images)) }
        let reference = features(testImages)
        let real = try FrechetDistance.between(reference, features(trainImages))
        let blur = try FrechetDistance.between(reference, features(blurred))
        let far = try FrechetDistance.between(reference, features(noise))
        #expect(real < blur, "real \(real) should be below blurred \(blur)")
        #expect(blur < far, "blurred \(blur) should be below noise \(far)")
        #expect(real * 5 < far, "real \(real) should be far below noise \(far)")
    }
}
