// The coordinator's sample-quality measurements during a run: G's images from fixed latent
// vectors on the coordinator's thread (cheap), features and metrics on a thread of their own
// (not cheap), and the results sent to the aggregator as `quality/…` events.
import AgonAnalysis
import AgonTensor
import AgonTraining
import Foundation

/// Measures the authoritative G every `every` steps and after the last, without stalling the
/// step loop.
///
/// `stepCompleted` and `finish` are called on the coordinator's thread, which is also the only
/// thread that sends events (an `EventSource` belongs to one thread). Measurements run one
/// after another on a thread of their own with its own `Engine(threads: 1)` (a dedicated
/// thread, not a dispatch queue: OpenMP's thread count is set per calling thread, and a queue
/// may run each job on another), and their results wait in a list until the coordinator's
/// thread next passes by. A measurement due while another is running is skipped (and
/// logged), except the last one, which queues behind it.
final class QualityMonitor: @unchecked Sendable {
    /// What the measuring thread loads once: the classifier and the real side.
    private struct Reference {
        let engine: Engine
        let classifier: Classifier
        let real: QualityReference
    }

    private let every: Int
    private let samples: Int
    private let seed: UInt64
    private let events: MetricsReporter?
    private let log: @Sendable (String) -> Void
    /// Guards `jobs`, `measuring`, `results` and `closed`; signalled when any of them changes.
    private let condition = NSCondition()
    /// Measurements waiting for the measuring thread: G's images and their step.
    private var jobs: [(step: Int, images: Tensor)] = []
    /// The step of the measurement queued or running, if any (only the last step queues
    /// behind another).
    private var measuring: Int?
    private var results: [(step: Int, quality: SampleQuality, seconds: Double)] = []
    /// Set by `finish`: the measuring thread ends when its jobs are done.
    private var closed = false
    /// Set on the coordinator's thread only.
    private var latents: QualityLatents?

    /// A monitor, or nil (after one log line saying why) when quality is off: `--quality-every
    /// 0`, or no classifier file. The classifier and the real test features are loaded on the
    /// measuring thread, so the coordinator starts at once.
    init?(options: QualityOptions, dataDirectory: String, seed: UInt64, events: MetricsReporter?,
          log: @escaping @Sendable (String) -> Void) {
        guard options.qualityEvery > 0 else { return nil }
        let location = options.classifier.map { ClassifierLocation(candidates: [$0]) } ?? ClassifierLocation.current()
        guard let path = location.found else {
            log("coordinator: quality measurements are off: \(location.absence)")
            return nil
        }
        every = options.qualityEvery
        samples = options.qualitySamples
        self.seed = seed
        self.events = events
        self.log = log
        let count = options.qualitySamples
        let thread = Thread { [self] in
            StopSignals.blockInThisThread()   // it runs oneDNN: see there
            measureUntilFinished(classifier: path, dataDirectory: dataDirectory, count: count)
        }
        thread.name = "agon quality"
        thread.start()
    }

    /// After each step, on the coordinator's thread: sends finished measurements, and starts
    /// one if `step` is due.
    func stepCompleted(step: Int, totalSteps: Int, model: GANModel) {
        sendResults()
        let last = step == totalSteps
        guard step % every == 0 || last else { return }
        condition.lock()
        let busy = measuring
        if busy == nil || last { measuring = step }
        condition.unlock()
        if let busy, !last {
            log("coordinator: quality after step \(step) skipped: the measurement after step \(busy) is still running")
            return
        }
        if latents == nil { latents = QualityLatents(count: samples, latentSize: model.latentSize, seed: seed) }
        let images = latents!.images(of: model)
        condition.lock()
        jobs.append((step, images))
        condition.broadcast()
        condition.unlock()
    }

    /// Waits (up to `timeout` seconds) for the measurements queued or running, sends their
    /// results, and lets the measuring thread end.
    func finish(timeout: Double) {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        closed = true
        condition.broadcast()
        var inTime = true
        while measuring != nil && inTime { inTime = condition.wait(until: deadline) }
        condition.unlock()
        if !inTime { log("coordinator: the last quality measurement did not finish within \(Int(timeout)) s; it is not sent") }
        sendResults()
    }

    /// The measuring thread: loads the classifier and the real side, then measures each job
    /// until `finish`. After a failed load (logged) it only empties the queue.
    private func measureUntilFinished(classifier path: String, dataDirectory: String, count: Int) {
        var reference: Reference?
        do {
            let engine = Engine(threads: 1)
            let classifier = try Classifier.load(path: path, engine: engine)
            let test = try ImageDataset.load(directory: dataDirectory, split: .test)
            reference = Reference(engine: engine, classifier: classifier,
                                  real: QualityReference(test: test, count: count, classifier: classifier))
        } catch {
            log("coordinator: quality measurements are off: \(error)")
        }
        while true {
            condition.lock()
            while jobs.isEmpty && !closed { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let (step, images) = jobs.removeFirst()
            condition.unlock()
            let result = reference.flatMap { measure(images, step: step, reference: $0) }
            condition.lock()
            if let result { results.append(result) }
            if measuring == step { measuring = nil }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// One measurement, on the measuring thread; nil (logged) when it fails.
    private func measure(_ images: Tensor, step: Int, reference: Reference) -> (step: Int, quality: SampleQuality, seconds: Double)? {
        let started = ContinuousClock.now
        do {
            let quality = try SampleQuality(fake: images, reference: reference.real, classifier: reference.classifier,
                                            engine: reference.engine)
            return (step, quality, (ContinuousClock.now - started).seconds)
        } catch {
            log("coordinator: quality after step \(step) not measured: \(error)")
            return nil
        }
    }

    /// On the coordinator's thread: logs and sends what has been measured.
    private func sendResults() {
        condition.lock()
        let done = results
        results.removeAll()
        condition.unlock()
        for (step, quality, seconds) in done {
            let pr = quality.precisionRecall
            log(String(format: "coordinator: quality after step %d: FID %.2f  KID %.4f  precision %.3f  recall %.3f  coverage %.3f  IS %.2f  class entropy %.3f  missing classes %d  (%.1f s)",
                       step, quality.fid, quality.kid.mean, pr.precision, pr.recall, pr.coverage, quality.inceptionScore.mean,
                       quality.classes.normalizedEntropy, quality.classes.missingClasses, seconds))
            events?.record(step: step, scalars: quality.eventScalars)
        }
    }
}
