// Tests of the NaN injected for alarm tests: only the named step's G loss and gradients are
// NaN, and a Trainer stops there with `diverged` after its observer has seen the step.
import AgonTensor
import AgonTraining
import Testing

@Suite struct GANStepTests {
    @Test("--inject-nan-at makes that step's G loss and gradient norm NaN, and no earlier one")
    func injectedNaN() throws {
        var configuration = TrainingConfiguration()
        configuration.batch = 8
        configuration.injectNaNAt = 3
        let trainer = Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: labelledImages(count: 64))
        for s in 0..<2 {
            let metrics = try trainer.trainStep(s)
            #expect(metrics.generatorLoss.isFinite && metrics.generatorGradientNorm.isFinite, "step \(metrics.step)")
        }
        let third = try trainer.trainStep(2)
        #expect(third.step == 3)
        #expect(third.generatorLoss.isNaN)
        #expect(third.generatorGradientNorm.isNaN)
        #expect(third.discriminatorLoss.isFinite)
        // In process, a step that is not finite is not applied: the parameters stay the last good ones.
        #expect(trainer.model.generator.trainableParameters.allSatisfy { $0.value.scalars.allSatisfy(\.isFinite) })
    }

    @Test("Trainer.run stops with diverged at the injected step, after the observer saw it")
    func runStops() throws {
        final class Steps: TrainingObserver {
            var seen: [StepMetrics] = []
            func didStep(_ metrics: StepMetrics, of total: Int) throws { seen.append(metrics) }
            func didGenerateSamples(step: Int, images: Tensor) throws {}
            func didCheckpoint(step: Int, path: String) throws {}
        }
        var configuration = TrainingConfiguration()
        configuration.batch = 8
        configuration.steps = 10
        configuration.injectNaNAt = 4
        let trainer = Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: labelledImages(count: 64))
        let observer = Steps()
        #expect { try trainer.run(checkpointDirectory: nil, observer: observer) } throws: {
            ($0 as? TrainingError)?.code == .diverged
        }
        #expect(observer.seen.map(\.step) == [1, 2, 3, 4])
        #expect(observer.seen.last!.generatorLoss.isNaN)
    }
}
