// What a coordinator is told: where to listen, the run, how many workers to wait for, how long
// to wait for stragglers and silent workers, and its CURVE keys.
import AgonTensor
import AgonTraining

/// The settings of `agon coordinator`.
public struct CoordinatorConfiguration: Sendable {
    /// The ZeroMQ endpoint to bind (`tcp://0.0.0.0:5555`, `tcp://127.0.0.1:*` for a free port).
    public var bind: String
    /// The run folder: checkpoints/, coordinator.json.
    public var runDirectory: String
    /// Workers to wait for before the first step.
    public var workers: Int
    /// The run's model, data, batch per worker, steps, seed and optimizer.
    public var training: TrainingConfiguration
    /// Seconds to wait, after the first gradient of an exchange arrives, for the others.
    public var stepDeadline: Double = 10
    /// Heartbeat period, seconds (Paranoid Pirate: 1 s).
    public var heartbeatInterval: Double = 1
    /// Missed heartbeats after which a silent worker leaves the group (Paranoid Pirate: 3).
    public var liveness: Int = 3
    /// The coordinator's CURVE secret key (Z85); nil runs without encryption.
    public var curveSecretKey: String?
    /// The public keys (Z85) of the workers to admit when CURVE is on.
    public var authorizedKeys: [String] = []
    /// The aggregator's endpoint as workers reach it (`tcp://NAME:PORT`), told to each worker
    /// in its welcome; nil: none.
    public var aggregator: String?
    /// Whether to accept a worker's offer of a shared-memory lane (a worker on this machine):
    /// gradients and parameters then bypass the socket.
    public var sharedMemory = true
    /// Called after every step.
    public var onProgress: (@Sendable (CoordinatorProgress) -> Void)?
    /// Called after each checkpoint is written (or failed to be), with its step: what was
    /// recorded up to it should be made durable now, since a resume starts from there.
    public var onCheckpoint: (@Sendable (Int) -> Void)?
    /// Called every `training.sampleEvery` steps and after the last with G's images for the
    /// run's fixed noise, (count, 28, 28, 1) in [−1, 1].
    public var onSamples: (@Sendable (Int, Tensor) -> Void)?
    /// Called on the coordinator's thread after every step with the step just completed, the
    /// run's total step count and the authoritative model (parameters after that step's update),
    /// for measurements of the model during the run; it must not keep the model or slow the step.
    public var onStepCompleted: (@Sendable (_ step: Int, _ totalSteps: Int, _ model: GANModel) -> Void)?

    public init(bind: String, runDirectory: String, workers: Int, training: TrainingConfiguration) {
        self.bind = bind
        self.runDirectory = runDirectory
        self.workers = workers
        self.training = training
    }
}

/// Where a run stands after a step.
public struct CoordinatorProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    /// Workers whose gradients the step averaged.
    public var workers: Int
    /// Their ranks (those of the step's last exchange, in an alternating update).
    public var ranks: [Int]
    /// Mean G and D loss over those workers.
    public var generatorLoss: Float
    public var discriminatorLoss: Float
    /// Samples per second over the last steps (exponential moving average).
    public var samplesPerSecond: Double
}
