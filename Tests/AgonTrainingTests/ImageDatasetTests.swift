// Tests of ImageDataset's class filter: the images of the named labels, in their order, with
// their pixels; and a Trainer given `classes` trains on those images only.
import AgonTensor
import AgonTraining
import Testing

/// `count` 28×28 images whose pixels all equal their index (mod 256), labelled `index % 10`.
func labelledImages(count: Int) -> ImageDataset {
    let size = 28 * 28
    var pixels = [UInt8](repeating: 0, count: count * size)
    for i in 0..<count { for p in 0..<size { pixels[i * size + p] = UInt8(i % 256) } }
    return ImageDataset(images: pixels, labels: (0..<count).map { UInt8($0 % 10) }, height: 28, width: 28)
}

@Suite struct ImageDatasetTests {
    @Test("filtered(classes:) keeps the images of those labels, in order, with their pixels")
    func filterKeepsOrderAndPixels() {
        let dataset = labelledImages(count: 100)
        let kept = dataset.filtered(classes: [3, 0])
        #expect(kept.count == 20)
        #expect(kept.labels(at: 0..<kept.count) == (0..<10).flatMap { _ in [0, 3] })
        let originals = (0..<100).filter { $0 % 10 == 0 || $0 % 10 == 3 }
        for (i, original) in originals.enumerated() {
            #expect(kept.images[i * 784] == UInt8(original) && kept.images[i * 784 + 783] == UInt8(original))
        }
        #expect(kept.holdsOnly(classes: [0, 3]))
        #expect(!dataset.holdsOnly(classes: [0, 3]))
        #expect(dataset.filtered(classes: [42]).count == 0)
    }

    @Test("filtering is deterministic: the same set gives the same bytes")
    func filterIsDeterministic() {
        let dataset = labelledImages(count: 300)
        let a = dataset.filtered(classes: [5]), b = dataset.filtered(classes: [5])
        #expect(a.images == b.images && a.labels == b.labels)
    }

    @Test("a Trainer with classes draws its batches from those images only, and shards them")
    func trainerTrainsOnTheClasses() throws {
        var configuration = TrainingConfiguration()
        configuration.batch = 8
        configuration.classes = [2, 7]
        let dataset = labelledImages(count: 400)
        for rank in 0..<2 {
            let trainer = Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: dataset, rank: rank, workers: 2)
            #expect(trainer.dataset.count == 80)
            #expect(trainer.dataset.holdsOnly(classes: [2, 7]))
            #expect(trainer.schedule.stepsPerEpoch == 80 / 16)
        }
    }
}
