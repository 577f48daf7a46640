// The training loop of one replica: data and noise for each step, the GAN step, samples from
// fixed noise, checkpoints, and a stop on divergence. `agon train` runs it alone; a worker runs
// it with a ParameterUpdate that averages across workers.
import AgonNN
import AgonTensor

/// Everything that defines a training run.
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    public var model: GANModel.Kind = .mlp
    /// Samples per step on each worker.
    public var batch = 64
    /// Steps to train; see `totalSteps`.
    public var steps: Int?
    /// Epochs to train, when `steps` is not given.
    public var epochs: Int?
    public var seed: UInt64 = 1
    /// G's Adam learning rate, and D's unless `discriminatorLearningRate` is given.
    public var learningRate: Float = 1e-4
    /// D's Adam learning rate; nil for `learningRate`.
    ///
    /// This and the fields below are optional so that a configuration encoded without them
    /// still decodes (the coordinator sends the configuration to its workers as JSON).
    public var discriminatorLearningRate: Float?
    /// Train only on the images with these labels (nil: every image); every process filters
    /// the same way, so workers shard the same filtered set.
    public var classes: [Int]?
    /// For testing alarms: at this step (1-based, as step metrics count), G's loss and
    /// gradients are made NaN before the update.
    public var injectNaNAt: Int?
    public var update: UpdateMode = .simultaneous
    public var dataDirectory = ImageDataset.defaultDirectory
    /// Generate a sample grid from fixed noise every this many steps (and after the last).
    public var sampleEvery = 500
    /// Images in a sample grid.
    public var sampleCount = 64
    /// Write a checkpoint every this many steps (and after the last); 0 for only the last.
    public var checkpointEvery = 1000
    /// DCGAN only: channel widths divided by this.
    public var widthDivisor = 1
    /// DCGAN only: D's dropout rate.
    public var dropout: Float = 0.3

    public init() {}

    /// D's Adam learning rate: `discriminatorLearningRate`, else `learningRate`.
    public var effectiveDiscriminatorLearningRate: Float { discriminatorLearningRate ?? learningRate }
}

/// Trains one replica of a GAN on its shard of the data.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let model: GANModel
    public let update: ParameterUpdate
    public private(set) var schedule: BatchSchedule
    public let dataset: ImageDataset
    public private(set) var rank: Int
    /// Where the current epoch began, when a coordinator decides epochs (nil: step / epoch length).
    public private(set) var epochStart: (epoch: Int, step: Int)?
    private let step: GANStep
    /// The in-process update's guard against a step that is not finite (nil for a worker).
    private let finiteUpdate: FiniteLocalUpdate?
    /// The step, rank, worker count and epoch whose real batch is in `images` with D's pass on
    /// it already run (`prepare(step:)`), if any.
    private var prepared: Placement?
    /// The steps that used a pass of D on real data run ahead by `prepare(step:)`.
    public private(set) var stepsPrepared = 0
    private let latent: Tensor
    private let images: Tensor
    private let fixedNoise: Tensor
    private let random: CounterRandom

    /// A trainer for worker `rank` of `workers`; with no `update`, Adam runs in this process.
    ///
    /// When the configuration names `classes`, the trainer keeps only their images of
    /// `dataset` (callers that take the classes from a user check first that enough remain:
    /// see `ImageDataset.filtered(classes:)`).
    public init(configuration: TrainingConfiguration, engine: Engine, dataset: ImageDataset,
                update: ParameterUpdate? = nil, rank: Int = 0, workers: Int = 1) {
        self.configuration = configuration
        if let classes = configuration.classes, !dataset.holdsOnly(classes: classes) {
            self.dataset = dataset.filtered(classes: classes)
        } else {
            self.dataset = dataset
        }
        self.rank = rank
        model = GANModel(configuration.model, engine: engine, seed: configuration.seed,
                         widthDivisor: configuration.widthDivisor, dropout: configuration.dropout)
        if let update {
            self.update = update
            finiteUpdate = nil
        } else {
            let local = LocalUpdate(adamFor: model, generatorLearningRate: configuration.learningRate,
                                    discriminatorLearningRate: configuration.effectiveDiscriminatorLearningRate)
            self.update = local
            finiteUpdate = FiniteLocalUpdate(local, model: model, mode: configuration.update)
        }
        schedule = BatchSchedule(datasetCount: self.dataset.count, batchPerWorker: configuration.batch,
                                 workers: workers, seed: configuration.seed)
        step = GANStep(model: model, update: finiteUpdate ?? self.update, mode: configuration.update)
        step.injectNaNAt = configuration.injectNaNAt.map { $0 - 1 }
        random = CounterRandom(seed: configuration.seed)
        latent = Tensor(zeros: [configuration.batch, model.latentSize])
        images = Tensor(zeros: [configuration.batch] + model.imageShape)
        fixedNoise = model.fixedNoise(count: configuration.sampleCount, seed: configuration.seed)
    }

    /// Makes this replica worker `rank` of `workers` in epoch `epoch`, which began at step
    /// `epochStart`: the coordinator re-shards the data among the live workers at each epoch.
    public func assign(rank: Int, workers: Int, epoch: Int, epochStart: Int) {
        precondition(rank >= 0 && rank < workers, "rank \(rank) is not in 0..<\(workers)")
        self.rank = rank
        self.epochStart = (epoch, epochStart)
        if workers != schedule.workers {
            schedule = BatchSchedule(datasetCount: dataset.count, batchPerWorker: configuration.batch,
                                     workers: workers, seed: configuration.seed)
        }
    }

    /// The number of steps the configuration asks for: `steps`, else `epochs` whole epochs,
    /// else one epoch.
    public var totalSteps: Int {
        configuration.steps ?? (configuration.epochs ?? 1) * schedule.stepsPerEpoch
    }

    /// Runs global step `globalStep` (0-based) on this worker's shard.
    ///
    /// The noise of sample i is drawn for its position in the global batch, so N workers with
    /// batch B draw what one worker with batch N·B draws.
    public func trainStep(_ globalStep: Int) throws -> StepMetrics {
        let batch = configuration.batch, size = model.latentSize
        let first = rank * batch
        for i in 0..<batch {
            random.fillNormal(latent.pointer + i * size, count: size, stream: .latent,
                              UInt32(truncatingIfNeeded: globalStep), UInt32(first + i))
        }
        if prepared == placement(globalStep) {
            stepsPrepared += 1
        } else {
            step.discardPreparedRealPass()
            fillImages(globalStep)
        }
        prepared = nil
        var metrics = try step(z: latent, x: images, context: context(globalStep))
        metrics.step = globalStep + 1
        return metrics
    }

    /// Runs step `globalStep`'s pass of D on its real batch ahead of the step, for a worker
    /// waiting on G's parameters with D's for that step already in: `trainStep(globalStep)`
    /// then skips it if the worker's shard has not changed meanwhile. Does nothing for a step
    /// past the run or the current epoch, whose batch the coordinator has yet to decide.
    public func prepare(step globalStep: Int) {
        guard globalStep < totalSteps else { return }
        if let start = epochStart, globalStep - start.step >= schedule.stepsPerEpoch { return }
        fillImages(globalStep)
        step.prepareRealPass(x: images, context: context(globalStep))
        prepared = placement(globalStep)
    }

    /// Forgets a pass run ahead by `prepare(step:)`: the parameters it ran with were replaced.
    public func discardPrepared() {
        prepared = nil
        step.discardPreparedRealPass()
    }

    /// What decides a step's real batch: the step and this worker's place in the group.
    private struct Placement: Equatable {
        let step: Int, rank: Int, workers: Int, epoch: Int?, epochStart: Int?
    }

    private func placement(_ globalStep: Int) -> Placement {
        Placement(step: globalStep, rank: rank, workers: schedule.workers, epoch: epochStart?.epoch, epochStart: epochStart?.step)
    }

    private func context(_ globalStep: Int) -> ForwardContext {
        ForwardContext(training: true, step: globalStep, firstSample: rank * configuration.batch)
    }

    private func fillImages(_ globalStep: Int) {
        let indices = epochStart.map {
            schedule.indices(epoch: $0.epoch, stepInEpoch: globalStep - $0.step, rank: rank)
        } ?? schedule.indices(step: globalStep, rank: rank)
        dataset.fillImages(indices: indices, into: images.pointer)
    }

    /// G's images for the fixed noise, in inference mode: comparable across the whole run.
    public func samples() -> Tensor {
        model.samples(fixedNoise)
    }

    /// Trains from step `start` to `totalSteps`, or until `stop` is set (checked between
    /// steps), telling `observer` about each step, sample grid and checkpoint; checkpoints go to
    /// `checkpointDirectory` when given. Returns the steps completed.
    ///
    /// A non-finite loss stops the run with `TrainingError.diverged`, after the observer has
    /// seen the step: in process, the step is not applied, and the parameters after the step
    /// before it are checkpointed (unless a checkpoint holds them) and named in the error.
    @discardableResult
    public func run(from start: Int = 0, checkpointDirectory: String?, observer: TrainingObserver, stop: StopFlag? = nil) throws -> Int {
        let total = totalSteps
        guard start < total else { return start }
        for s in start..<total {
            if stop?.isStopped == true { return s }
            finiteUpdate?.beginStep()
            let metrics = try trainStep(s)
            try observer.didStep(metrics, of: total)
            guard metrics.generatorLoss.isFinite, metrics.discriminatorLoss.isFinite, finiteUpdate?.refused != true else {
                var kept = "the last checkpoint is kept"
                if let checkpointDirectory, finiteUpdate != nil {
                    kept = "the last good checkpoint is " + (try checkpoint(step: s, unlessSavedIn: checkpointDirectory).map { "\($0.path) (after step \(s))" } ?? "none (no step completed)")
                }
                throw TrainingError(.diverged, path: "step \(metrics.step)",
                                    "losses are not finite (G \(metrics.generatorLoss), D \(metrics.discriminatorLoss)); training stopped; \(kept)")
            }
            let done = s + 1
            if done % configuration.sampleEvery == 0 || done == total {
                try observer.didGenerateSamples(step: done, images: samples())
            }
            let every = configuration.checkpointEvery
            if let checkpointDirectory, let local = update as? LocalUpdate, (every > 0 && done % every == 0) || done == total {
                let path = try Checkpoint.save(model: model, update: local, step: done, metadata: metadata, directory: checkpointDirectory)
                try observer.didCheckpoint(step: done, path: path)
            }
        }
        return total
    }

    /// Checkpoints the parameters as they are after `step` steps into `directory`, unless the
    /// newest checkpoint there holds that step; returns its path and whether it was written
    /// now, or nil after no step at all.
    public func checkpoint(step: Int, unlessSavedIn directory: String) throws -> (path: String, written: Bool)? {
        if let latest = Checkpoint.latest(in: directory), latest.hasSuffix("/" + Checkpoint.fileName(step: step)) { return (latest, false) }
        guard step > 0, let local = update as? LocalUpdate else { return nil }
        return (try Checkpoint.save(model: model, update: local, step: step, metadata: metadata, directory: directory), true)
    }

    /// Restores the newest checkpoint in `directory`, if any; returns the step to resume from.
    public func resume(from directory: String) throws -> Int {
        guard let path = Checkpoint.latest(in: directory), let local = update as? LocalUpdate else { return 0 }
        return try Checkpoint.restore(path: path, model: model, update: local).step
    }

    private var metadata: [String: String] {
        ["seed": String(configuration.seed), "batch": String(configuration.batch),
         "update": configuration.update.rawValue, "learning_rate": String(configuration.learningRate),
         "d_learning_rate": String(configuration.effectiveDiscriminatorLearningRate)]
    }
}

/// Receives what a training run produces.
public protocol TrainingObserver: AnyObject {
    /// After each step, with the run's total step count.
    func didStep(_ metrics: StepMetrics, of total: Int) throws
    /// After `step` steps, G's images for the fixed noise, (count, 28, 28, 1) in [−1, 1].
    func didGenerateSamples(step: Int, images: Tensor) throws
    /// After a checkpoint is written.
    func didCheckpoint(step: Int, path: String) throws
}

/// The in-process update, refused for a step whose losses or gradient norms are not finite: the
/// parameters stay those after the step before (the moving statistics its passes changed, and
/// in an alternating step D's update, are put back), so that they can be checkpointed.
final class FiniteLocalUpdate: ParameterUpdate {
    private let local: LocalUpdate
    private let snapshots: [NetworkSnapshot]
    private let mode: UpdateMode
    /// True once a step was refused.
    private(set) var refused = false

    init(_ local: LocalUpdate, model: GANModel, mode: UpdateMode) {
        self.local = local
        self.mode = mode
        snapshots = GANNetwork.allCases.map { NetworkSnapshot($0, of: model, update: local) }
    }

    /// Keeps what the coming step may change before it is refused: the moving statistics, and
    /// in an alternating step all of D, updated before G's loss is known.
    func beginStep() {
        for snapshot in snapshots {
            snapshot.take(mode == .alternating && snapshot.network == .discriminator ? .everything : .state)
        }
    }

    func apply(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws {
        let measured = [metrics.generatorLoss, metrics.discriminatorLoss, metrics.generatorGradientNorm, metrics.discriminatorGradientNorm]
        guard measured.allSatisfy(\.isFinite) else {
            for snapshot in snapshots { snapshot.restore() }
            refused = true
            return
        }
        try local.apply(networks, step: step, metrics: metrics)
    }
}
