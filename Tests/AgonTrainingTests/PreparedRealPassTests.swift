// Tests of D's real pass run ahead of its step (what a worker does while it waits for G's
// parameters): the step it prepares trains bit for bit what it would have trained, and a pass
// prepared for another step, shard or set of parameters is never used.
import AgonTensor
import AgonTraining
import Testing

@Suite struct PreparedRealPassTests {
    private static func configuration(_ model: GANModel.Kind, _ update: UpdateMode) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.update = update
        configuration.batch = 8
        configuration.steps = 6
        configuration.widthDivisor = 8
        return configuration
    }

    /// Two trainers of the same run: one that never prepares, one that does.
    private static func pair(_ configuration: TrainingConfiguration, workers: Int = 1) -> (plain: Trainer, ahead: Trainer) {
        let make = { Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: labelledImages(count: 64), workers: workers) }
        return (make(), make())
    }

    /// Whether both trainers hold the same parameters, bit for bit.
    private static func sameParameters(_ a: Trainer, _ b: Trainer) -> Bool {
        let values = { (t: Trainer) in (t.model.generator.trainableParameters + t.model.discriminator.trainableParameters).map { $0.value.scalars.map(\.bitPattern) } }
        return values(a) == values(b)
    }

    @Test("each step prepared ahead trains bit for bit what the step computes by itself",
          arguments: [(GANModel.Kind.mlp, UpdateMode.simultaneous), (.mlp, .alternating), (.dcgan, .simultaneous)])
    func preparedStepsMatch(model: GANModel.Kind, update: UpdateMode) throws {
        let (plain, ahead) = Self.pair(Self.configuration(model, update))
        for s in 0..<5 {
            let expected = try plain.trainStep(s)
            let metrics = try ahead.trainStep(s)
            ahead.prepare(step: s + 1)   // D now holds step s + 1's parameters, as a waiting worker's does
            #expect(metrics.discriminatorRealLoss == expected.discriminatorRealLoss, "step \(s + 1)")
            #expect(metrics.discriminatorLoss == expected.discriminatorLoss, "step \(s + 1)")
            #expect(metrics.generatorLoss == expected.generatorLoss, "step \(s + 1)")
            #expect(metrics.accuracyReal == expected.accuracyReal && metrics.meanRealScore == expected.meanRealScore, "step \(s + 1)")
            #expect(Self.sameParameters(ahead, plain), "step \(s + 1): parameters differ")
        }
        #expect(ahead.stepsPrepared == 4)
    }

    @Test("a pass prepared for another step, another rank, or before new parameters is not used")
    func mismatchedPassIsDiscarded() throws {
        var configuration = Self.configuration(.mlp, .simultaneous)
        configuration.steps = 20
        let (plain, ahead) = Self.pair(configuration, workers: 2)
        _ = try plain.trainStep(0)
        _ = try ahead.trainStep(0)
        ahead.prepare(step: 3)   // another step than the next
        #expect(try ahead.trainStep(1).discriminatorRealLoss == plain.trainStep(1).discriminatorRealLoss)
        ahead.prepare(step: 2)
        plain.assign(rank: 1, workers: 2, epoch: 0, epochStart: 0)
        ahead.assign(rank: 1, workers: 2, epoch: 0, epochStart: 0)   // another shard
        #expect(try ahead.trainStep(2).discriminatorRealLoss == plain.trainStep(2).discriminatorRealLoss)
        ahead.prepare(step: 3)
        ahead.discardPrepared()   // as after a resync: D's parameters were replaced
        #expect(try ahead.trainStep(3).discriminatorRealLoss == plain.trainStep(3).discriminatorRealLoss)
        #expect(Self.sameParameters(ahead, plain), "parameters differ")
        #expect(ahead.stepsPrepared == 0)
    }

    @Test("nothing is prepared past the run's last step or the current epoch's end")
    func nothingPastTheEnd() throws {
        var configuration = Self.configuration(.mlp, .simultaneous)
        configuration.steps = 2
        let trainer = Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: labelledImages(count: 64), workers: 2)
        trainer.assign(rank: 0, workers: 2, epoch: 0, epochStart: 0)   // 64 images, 2 × 8 a step: 4 steps an epoch
        _ = try trainer.trainStep(0)
        trainer.prepare(step: 2)   // past the run
        trainer.prepare(step: 4)   // past the epoch: the coordinator has not placed it yet
        _ = try trainer.trainStep(1)
        #expect(trainer.stepsPrepared == 0)
    }
}
