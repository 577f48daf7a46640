// The worker's loop: join, build the replica the coordinator describes, and train step after
// step through the coordinator, following its rank and epoch assignments, until it says done.
import AgonNN
import AgonTensor
import AgonTraining
import AgonWire
import Foundation

/// One replica of a distributed run.
public final class Worker {
    public let configuration: WorkerConfiguration
    private let log: (String) -> Void
    private let observer: ((StepMetrics, WorkerPlace) -> Void)?
    /// Called once the worker has its first rank (even in a run that is already complete).
    private let onJoined: ((WorkerPlace) -> Void)?

    /// A worker; `observer` sees each step's metrics, with the worker's rank and the run's
    /// generation when it trained the step.
    public init(configuration: WorkerConfiguration, log: @escaping (String) -> Void,
                onJoined: ((WorkerPlace) -> Void)? = nil, observer: ((StepMetrics, WorkerPlace) -> Void)? = nil) {
        self.configuration = configuration
        self.log = log
        self.onJoined = onJoined
        self.observer = observer
    }

    /// Trains until the coordinator says the run is complete (returns the final step) or `stop`
    /// is set (sends leave and returns nil).
    public func run(stop: StopFlag) throws -> Int? {
        SharedSegment.removeAbandoned(role: "worker")
        let connection = try CoordinatorConnection(configuration: configuration, stop: stop, log: log)
        let remote = RemoteUpdate(connection: connection, stop: stop)
        var total: Int?
        do {
            try connection.waitUntilConnected()
            let welcome = try connection.join(timeout: configuration.joinTimeout)
            var training: TrainingConfiguration
            do {
                training = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(welcome.configuration.utf8))
            } catch {
                throw WorkerError(.badConfiguration, "\(configuration.coordinator): cannot read the run's settings: \(error)")
            }
            if let dir = configuration.dataDirectory { training.dataDirectory = dir }
            let dataset = try ImageDataset.load(directory: training.dataDirectory, split: .train)
            let trainer = Trainer(configuration: training, engine: Engine(threads: 1), dataset: dataset, update: remote,
                                  rank: 0, workers: max(1, Int(welcome.world)))
            total = trainer.totalSteps
            remote.model = trainer.model
            remote.prepareNextStep = { [unowned trainer] in trainer.prepare(step: $0) }
            remote.offerSharedMemory()
            let place = welcome.rank >= 0 ? " as rank \(welcome.rank) of \(welcome.world) at step \(welcome.step)"
                : welcome.world == 0 ? "; waiting for the other workers" : "; waiting for a place in the next epoch"
            log("worker: joined \(configuration.coordinator)" + place)
            try remote.awaitParameters()
            onJoined?(WorkerPlace(rank: remote.assignment!.rank, generation: connection.welcome?.generation ?? 0,
                                  aggregator: connection.welcome?.aggregator ?? ""))
            var steps = 0, stepSeconds = 0.0
            defer {
                if steps > 0 {
                    log(String(format: "worker: %d steps, %.2f ms per step, %.1f%% of it waiting on the coordinator; D's pass on real data ran ahead in %d",
                               steps, 1000 * stepSeconds / Double(steps), 100 * remote.waitingSeconds / max(stepSeconds, 1e-9), trainer.stepsPrepared))
                }
            }
            /// Records the metrics of a step whose gradients went out but whose reply did not come.
            func recordInterrupted(_ a: Assignment, started: ContinuousClock.Instant) {
                guard var metrics = remote.interruptedMetrics else { return }
                metrics.step = a.step + 1   // as `Trainer.trainStep` numbers a finished step
                metrics.seconds = (ContinuousClock.now - started).seconds
                metrics.samples = training.batch
                observer?(metrics, WorkerPlace(rank: a.rank, generation: connection.welcome?.generation ?? 0))
            }
            while true {
                if stop.isStopped { throw CancellationError() }   // after a completed step: leave
                let a = remote.assignment!
                if a.step >= trainer.totalSteps {
                    try remote.awaitParameters()   // the run is over: the coordinator's `complete` ends it
                    continue
                }
                trainer.assign(rank: a.rank, workers: a.world, epoch: a.epoch, epochStart: a.epochStart)
                let started = ContinuousClock.now
                do {
                    let metrics = try trainer.trainStep(a.step)
                    steps += 1
                    stepSeconds += metrics.seconds
                    remote.commitWaiting()
                    observer?(metrics, WorkerPlace(rank: a.rank, generation: connection.welcome?.generation ?? 0))
                } catch ExchangeInterruption.resync {
                    remote.discardWaiting()
                    trainer.discardPrepared()   // it ran with parameters that were replaced
                    continue
                } catch ExchangeInterruption.complete(let step) {
                    // The reply to this step's gradients was "complete": the run ended at it
                    // (at a diverged step, say). The step's metrics are still worth recording.
                    steps += 1
                    stepSeconds += (ContinuousClock.now - started).seconds
                    remote.commitWaiting()
                    recordInterrupted(a, started: started)
                    throw ExchangeInterruption.complete(step: step)
                } catch is CancellationError {
                    // Stopped with this step's gradients sent and no reply in the grace: the
                    // coordinator may have applied the step (its stop checkpoint then holds it),
                    // so its metrics are recorded; if it did not, the next start resumes before
                    // it and supersedes them.
                    recordInterrupted(a, started: started)
                    throw CancellationError()
                }
            }
        } catch ExchangeInterruption.complete(let step) {
            connection.leave("the run is complete")
            if let total, step < total {
                log("worker: the coordinator ended the run after step \(step) of \(total)")   // at a diverged step, say
            } else {
                log("worker: the coordinator says the run is complete after step \(step)")
            }
            return step
        } catch is CancellationError {
            connection.leave("stopped", stopped: true)
            log("worker: stopped\(remote.assignment.map { " after step \($0.step)" } ?? "")")
            return nil
        }
    }
}

/// Where a worker stood when it trained a step: its rank, and the run generation (the
/// coordinator's start) it trained in.
public struct WorkerPlace: Sendable, Equatable {
    public var rank: Int
    public var generation: Int64
    /// The aggregator endpoint the coordinator's welcome named (empty: none); given to `onJoined`.
    public var aggregator: String = ""
}
