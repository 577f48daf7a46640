// Tests of LocalUpdate's learning rate per network: Adam's first step moves every parameter by
// at most its rate (m̂/√v̂ = ±1 for a non-zero gradient), so each network moves by its own.
import AgonNN
import AgonTensor
import AgonTraining
import Foundation
import Testing

@Suite struct LocalUpdateTests {
    /// The largest change of any parameter of `network` over one training step.
    private func largestChange(_ trainer: Trainer, _ network: GANNetwork, step: Int) throws -> Float {
        let parameters = network == .generator ? trainer.model.generator.trainableParameters
                                               : trainer.model.discriminator.trainableParameters
        let before = parameters.map(\.value.scalars)
        _ = try trainer.trainStep(step)
        var largest: Float = 0
        for (old, parameter) in zip(before, parameters) {
            for (a, b) in zip(old, parameter.value.scalars) { largest = max(largest, abs(a - b)) }
        }
        return largest
    }

    @Test("D's Adam moves D by the D rate, G's moves G by the G rate")
    func ratePerNetwork() throws {
        var configuration = TrainingConfiguration()
        configuration.batch = 16
        configuration.learningRate = 1e-4
        configuration.discriminatorLearningRate = 5e-3
        let dataset = labelledImages(count: 64)
        let g = try largestChange(Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: dataset), .generator, step: 0)
        let d = try largestChange(Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: dataset), .discriminator, step: 0)
        #expect(abs(g - 1e-4) < 1e-6, "G moved by \(g)")
        #expect(abs(d - 5e-3) < 5e-5, "D moved by \(d)")
        let update = try #require(Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: dataset).update as? LocalUpdate)
        #expect((update.optimizer(for: .generator) as? Adam)?.learningRate == 1e-4)
        #expect((update.optimizer(for: .discriminator) as? Adam)?.learningRate == 5e-3)
    }

    @Test("without a D rate, D uses --lr")
    func defaultRate() throws {
        var configuration = TrainingConfiguration()
        configuration.learningRate = 3e-4
        #expect(configuration.effectiveDiscriminatorLearningRate == 3e-4)
        let trainer = Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: labelledImages(count: 64))
        let update = try #require(trainer.update as? LocalUpdate)
        #expect((update.optimizer(for: .discriminator) as? Adam)?.learningRate == 3e-4)
    }

    @Test("a configuration encoded before the new fields existed still decodes")
    func decodesOldJSON() throws {
        var configuration = TrainingConfiguration()
        configuration.discriminatorLearningRate = 2e-3
        configuration.classes = [1]
        configuration.injectNaNAt = 5
        let json = try JSONEncoder().encode(configuration)
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: json) == configuration)
        var object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        for key in ["discriminatorLearningRate", "classes", "injectNaNAt"] { object.removeValue(forKey: key) }
        let old = try JSONDecoder().decode(TrainingConfiguration.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(old.discriminatorLearningRate == nil && old.classes == nil && old.injectNaNAt == nil)
    }
}
