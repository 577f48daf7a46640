// The health detectors on constructed runs: each raises its alarm, once, at the step where its
// condition began, and no other alarm does; a healthy run raises none; a monitor rebuilt from
// run.db raises nothing already stored.
@testable import AgonAggregator
import AgonPlot
import AgonRunStore
import Foundation
import Testing

/// A constructed run: every worker's per-step metrics, healthy (values like those of a 3,000-step
/// mlp run on Fashion-MNIST, with deterministic noise) unless `shape` changes them, and quality
/// evaluations every `qualityEvery` steps from the coordinator.
struct ConstructedRun {
    var workers = ["worker-0", "worker-1"]
    var steps: ClosedRange<Int64> = 1...3000
    var qualityEvery: Int64 = 250
    /// Changes a worker's values at a step.
    var shape: (_ worker: Int, _ step: Int64, _ values: inout [String: Double]) -> Void = { _, _, _ in }
    /// Changes a quality evaluation at a step.
    var shapeQuality: (_ step: Int64, _ values: inout [String: Double]) -> Void = { _, _ in }

    /// Deterministic noise in [−1, 1] (splitmix64 of the three numbers).
    static func noise(_ a: Int, _ b: Int64, _ c: Int) -> Double {
        var z = UInt64(bitPattern: Int64(a) &* 1_000_003 &+ b &* 7919 &+ Int64(c)) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 52) - 1
    }

    /// A healthy worker's values at a step.
    static func healthy(worker: Int, step: Int64) -> [String: Double] {
        func n(_ c: Int) -> Double { noise(worker, step, c) }
        return ["g_loss": 1.8 + 0.3 * n(0), "d_loss": 0.3 + 0.08 * n(1), "d_real_loss": 0.2 + 0.05 * n(2), "d_fake_loss": 0.1 + 0.03 * n(3),
                "acc_real": min(1, 0.97 + 0.03 * n(4)), "acc_fake": min(1, 0.99 + 0.02 * n(5)), "d_x": 0.9 + 0.03 * n(6),
                "d_g_z": 0.18 + 0.05 * n(7), "g_grad_norm": 5 + n(8), "d_grad_norm": 2.5 + 0.7 * n(9),
                "step_time_s": 0.005, "samples_per_s": 3200]
    }

    /// Healthy quality: samples that look like data, from every class.
    static func healthyQuality(step: Int64) -> [String: Double] {
        ["fid": 40, "kid": 0.03, "precision": 0.55 + 0.05 * noise(9, step, 0), "recall": 0.4 + 0.05 * noise(9, step, 1),
         "density": 0.8, "coverage": 0.5, "inception_score": 6, "class_entropy": 0.9 + 0.05 * noise(9, step, 2), "missing_classes": 0]
    }

    /// The events as live intake stores them: step by step, each worker in turn, then the
    /// coordinator's quality evaluation of the step.
    var events: [(source: String, step: Int64, payload: RunEvent.Payload)] {
        var events: [(source: String, step: Int64, payload: RunEvent.Payload)] = []
        for step in steps {
            for (index, worker) in workers.enumerated() {
                var values = Self.healthy(worker: index, step: step)
                shape(index, step, &values)
                events.append((worker, step, .scalars(values.sorted { $0.key < $1.key }.map { ScalarValue(tag: $0.key, value: $0.value) })))
            }
            if qualityEvery > 0 && step % qualityEvery == 0 {
                var values = Self.healthyQuality(step: step)
                shapeQuality(step, &values)
                events.append(("coordinator", step, .scalars(values.sorted { $0.key < $1.key }.map { ScalarValue(tag: "quality/" + $0.key, value: $0.value) })))
            }
        }
        return events
    }

    /// What a fresh monitor says of the whole run, the end included.
    func changes() -> [HealthChange] {
        var monitor = HealthMonitor()
        var changes = events.flatMap { monitor.observe(source: $0.source, step: $0.step, payload: $0.payload) }
        changes += monitor.finish()
        return changes
    }
}

extension HealthChange {
    var raised: HealthAlarm? { if case .raised(let alarm) = self { alarm } else { nil } }
}

@Suite struct HealthMonitorTests {
    /// The alarms raised, as (name, step).
    static func raised(_ changes: [HealthChange]) -> [String] {
        changes.compactMap(\.raised).map { "\($0.name)@\($0.step)" }
    }

    @Test("a healthy run of three workers with quality evaluations raises nothing")
    func healthyRunRaisesNothing() {
        var run = ConstructedRun()
        run.workers = ["worker-0", "worker-1", "worker-2"]
        #expect(run.changes() == [])
    }

    @Test("D right on every sample and D(G(z)) near 0 from step 1500: discriminator_overpowering at 1500, nothing else")
    func discriminatorOverpowering() throws {
        var run = ConstructedRun()
        run.shape = { _, step, values in
            guard step >= 1500 else { return }
            values["acc_real"] = 1; values["acc_fake"] = 1; values["d_g_z"] = 0.004; values["g_loss"] = 5.5; values["d_loss"] = 0.01
        }
        let changes = run.changes()
        #expect(Self.raised(changes) == ["discriminator_overpowering@1500"])
        let message = try #require(changes.first?.raised?.message)
        #expect(message.contains("from step 1500 on") && message.contains("D(G(z)) averaged") && message.contains("--d-lr"), "\(message)")
    }

    @Test("the same run in batches of 500 steps per worker raises the same alarm at the same step")
    func batchesInterleavedDifferentlyGiveTheSameAlarm() {
        var run = ConstructedRun()
        run.shape = { _, step, values in
            if step >= 1500 { values["acc_real"] = 1; values["acc_fake"] = 1; values["d_g_z"] = 0.004 }
        }
        let events = run.events
        var batched: [(source: String, step: Int64, payload: RunEvent.Payload)] = []
        for chunk in stride(from: Int64(1), through: 3000, by: 500) {
            for worker in run.workers { batched += events.filter { $0.source == worker && (chunk..<chunk + 500).contains($0.step) } }
            batched += events.filter { $0.source == "coordinator" && (chunk..<chunk + 500).contains($0.step) }
        }
        var monitor = HealthMonitor()
        let changes = batched.flatMap { monitor.observe(source: $0.source, step: $0.step, payload: $0.payload) } + monitor.finish()
        #expect(Self.raised(changes) == ["discriminator_overpowering@1500"])
    }

    @Test("a worker that dies at step 100 holds steps back only until the others are 2,000 steps ahead")
    func deadWorkerStopsHoldingStepsBack() {
        var run = ConstructedRun()
        run.shape = { _, step, values in
            if step >= 1500 { values["acc_real"] = 1; values["acc_fake"] = 1; values["d_g_z"] = 0.004 }
        }
        var monitor = HealthMonitor()
        let changes = run.events.filter { $0.source != "worker-1" || $0.step <= 100 }
            .flatMap { monitor.observe(source: $0.source, step: $0.step, payload: $0.payload) }
        #expect(Self.raised(changes) == ["discriminator_overpowering@1500"], "raised before the run ends, from worker-0 alone")
    }

    @Test("an alarm clears when its condition ends and is raised again when it comes back")
    func clearsAndRaisesAgain() {
        var run = ConstructedRun()
        run.shape = { _, step, values in
            if (1000..<1400).contains(step) || step >= 2000 { values["acc_real"] = 1; values["acc_fake"] = 1; values["d_g_z"] = 0.004 }
        }
        let changes = run.changes()
        #expect(Self.raised(changes) == ["discriminator_overpowering@1000", "discriminator_overpowering@2000"])
        let cleared = changes.compactMap { if case .cleared(let name, let step) = $0 { "\(name)@\(step)" } else { nil } }
        #expect(cleared.count == 1 && cleared[0].hasPrefix("discriminator_overpowering@14"), "\(cleared)")
    }

    @Test("G's gradient norm falling to 0.2% of its early level from step 1200: vanishing_generator_gradients at 1200")
    func vanishingGeneratorGradients() {
        var run = ConstructedRun()
        run.shape = { _, step, values in if step >= 1200 { values["g_grad_norm"] = 0.01 } }
        #expect(Self.raised(run.changes()) == ["vanishing_generator_gradients@1200"])
    }

    @Test("D's gradient norm jumping 2000-fold at step 900: gradient_norm_bound at 900")
    func gradientNormBound() throws {
        var run = ConstructedRun()
        run.shape = { _, step, values in if step >= 900 { values["d_grad_norm"] = 5000 } }
        let changes = run.changes()
        #expect(Self.raised(changes) == ["gradient_norm_bound@900"])
        #expect(changes.first?.raised?.message.contains("D's gradient norm") == true)
    }

    @Test("a NaN G loss on one worker at step 700, where the run stops: non_finite_loss at 700, nothing else")
    func nonFiniteLoss() throws {
        var run = ConstructedRun()
        run.steps = 1...700
        run.shape = { worker, step, values in
            if worker == 1 && step == 700 { values["g_loss"] = .nan; values["g_grad_norm"] = .nan }
        }
        let changes = run.changes()
        #expect(Self.raised(changes) == ["non_finite_loss@700"])
        let message = try #require(changes.first?.raised?.message)
        #expect(message.contains("worker-1 reported g_loss = nan") && message.contains("checkpoint"), "\(message)")
    }

    @Test("a diverged step the coordinator reports (its own event, the workers' never sent): non_finite_loss at that step")
    func nonFiniteLossFromTheCoordinator() {
        var run = ConstructedRun()
        run.steps = 1...299
        var monitor = HealthMonitor()
        var changes = run.events.flatMap { monitor.observe(source: $0.source, step: $0.step, payload: $0.payload) }
        changes += monitor.observe(source: "coordinator", step: 300,
                                   payload: .scalars([ScalarValue(tag: "g_loss", value: .nan), ScalarValue(tag: "d_loss", value: 0.7)]))
        changes += monitor.finish()
        #expect(Self.raised(changes) == ["non_finite_loss@300"])
    }

    @Test("samples from one class at a healthy precision from step 1500: mode_collapse at 1500; noise early does not count")
    func modeCollapseFromQuality() throws {
        var run = ConstructedRun()
        run.shapeQuality = { step, values in
            if step < 500 {   // noise: put in one class, but far from the data
                values["precision"] = 0.01; values["class_entropy"] = 0.1; values["recall"] = 0
            } else if step >= 1500 {
                values["class_entropy"] = 0.05; values["missing_classes"] = 7; values["recall"] = 0.05
            }
        }
        let changes = run.changes()
        #expect(Self.raised(changes) == ["mode_collapse@1500"])
        let message = try #require(changes.first?.raised?.message)
        #expect(message.contains("class entropy is 0.05") && message.contains("7 class(es) never generated"), "\(message)")
    }

    @Test("recall halving while precision holds: mode_collapse at the first such evaluation")
    func modeCollapseFromRecall() {
        var run = ConstructedRun()
        run.shapeQuality = { step, values in if step >= 2000 { values["recall"] = 0.1 } }
        #expect(Self.raised(run.changes()) == ["mode_collapse@2000"])
    }

    /// A PNG sample grid of 16 images of 28×28: all alike (`collapsed`), or each different.
    static func grid(collapsed: Bool, seed: Int) throws -> [UInt8] {
        let pixels = (0..<16).flatMap { image in
            (0..<784).map { pixel in Float(ConstructedRun.noise(collapsed ? 0 : image + 100 * seed, Int64(pixel), 3)) }
        }
        return try ImageGrid(images: pixels, count: 16, height: 28, width: 28).pngData()
    }

    @Test("sample grids on fixed noise turning into copies of one image at step 1500: mode_collapse at 1500")
    func modeCollapseFromDuplicates() throws {
        var monitor = HealthMonitor()
        var changes: [HealthChange] = []
        for step in stride(from: Int64(500), through: 3000, by: 500) {
            let png = try Self.grid(collapsed: step >= 1500, seed: Int(step))
            changes += monitor.observe(source: "coordinator", step: step, payload: .image(tag: "samples", width: 0, height: 0, png: png))
        }
        #expect(Self.raised(changes) == ["mode_collapse@1500"])
        let distinct = try #require(SampleGridDuplicates(png: try Self.grid(collapsed: false, seed: 1)))
        #expect(distinct.cells == 16 && distinct.duplicated == 0)
        let copies = try #require(SampleGridDuplicates(png: try Self.grid(collapsed: true, seed: 1)))
        #expect(copies.cells == 16 && copies.duplicated == 16 && copies.medianNearest == 0)
    }

    @Test("one of three workers' D loss ten times the others' from step 1000: worker_divergence naming it, within 20 steps")
    func workerDivergence() throws {
        var run = ConstructedRun()
        run.workers = ["worker-0", "worker-1", "worker-2"]
        run.shape = { worker, step, values in if worker == 2 && step >= 1000 { values["d_loss"] = 3 } }
        let changes = run.changes()
        let alarms = changes.compactMap(\.raised)
        #expect(alarms.map(\.name) == ["worker_divergence"])
        let alarm = try #require(alarms.first)
        #expect((1000...1020).contains(alarm.step), "began at \(alarm.step)")
        #expect(alarm.message.contains("worker-2's smoothed d_loss") && !alarm.message.contains("worker-0"), "\(alarm.message)")
    }

    // MARK: Rebuilt from run.db

    /// A temporary run store holding `run`'s events, numbered per source as sources do.
    static func store(of run: ConstructedRun) throws -> (RunStore, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agon-health-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try RunStore(path: directory + "/run.db")
        var seqs: [String: Int64] = [:]
        try store.append(run.events.map { event in
            defer { seqs[event.source, default: 0] += 1 }
            return RunEvent(worker: event.source, seq: seqs[event.source, default: 0], step: event.step, wallTime: 1, payload: event.payload)
        })
        return (store, directory)
    }

    /// 2,000 steps of which the last 500 overpowered.
    static var overpowered: ConstructedRun {
        var run = ConstructedRun()
        run.steps = 1...2000
        run.shape = { _, step, values in if step >= 1500 { values["acc_real"] = 1; values["acc_fake"] = 1; values["d_g_z"] = 0.004 } }
        return run
    }

    @Test("rebuilt from a store that holds the alarm: nothing missed, the alarm held, and more of the same raises nothing")
    func rebuildRaisesNoDuplicate() throws {
        let (store, directory) = try Self.store(of: Self.overpowered)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try store.append([RunEvent(worker: HealthMonitor.source, seq: 0, step: 1500, wallTime: 2,
                                   payload: .alarm(name: "discriminator_overpowering", message: "stored"))])
        var (monitor, missed, _) = try HealthMonitor.rebuilt(from: store)
        #expect(missed == [])
        #expect(monitor.active == ["discriminator_overpowering": 1500])
        var more = ConstructedRun()
        more.steps = 2001...2500
        more.shape = Self.overpowered.shape
        let changes = more.events.flatMap { monitor.observe(source: $0.source, step: $0.step, payload: $0.payload) } + monitor.finish()
        #expect(changes == [])
    }

    @Test("rebuilt from a store whose aggregator was killed before storing the alarm: the alarm is found missed, once")
    func rebuildFindsAMissedAlarm() throws {
        let (store, directory) = try Self.store(of: Self.overpowered)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (_, missed, _) = try HealthMonitor.rebuilt(from: store)
        #expect(Self.raised(missed) == ["discriminator_overpowering@1500"])
    }

    @Test("an aggregator started on that store stores the alarm as event 0 of source aggregator; started again, it adds none")
    func aggregatorStoresAlarmsOnceAcrossRestarts() throws {
        let (store, directory) = try Self.store(of: Self.overpowered)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = AggregatorConfiguration(bind: "tcp://127.0.0.1:*", runDirectory: directory)
        configuration.renderInterval = 3600
        let lines = Lines()
        for _ in 0..<2 {
            _ = try Aggregator(configuration: configuration, log: lines.append)
        }
        let alarms = try store.alarms()
        #expect(alarms.map { "\($0.worker)/\($0.seq) \($0.name)@\($0.step)" } == ["aggregator/0 discriminator_overpowering@1500"])
        #expect(try store.nextSequence(worker: HealthMonitor.source) == 1)
        #expect(lines.all.filter { $0.contains("alarm discriminator_overpowering, began at step 1500") }.count == 1, "\(lines.all)")
    }

    /// Log lines gathered from any thread.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        var all: [String] { lock.withLock { lines } }
        func append(_ line: String) { lock.withLock { lines.append(line) } }
    }
}
