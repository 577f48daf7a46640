// The coordinator's loop: admits workers, averages each step's gradients over the live ones in
// rank order, steps the optimizers, sends the parameters back, checkpoints, and drops workers
// that fall silent. One thread, one ROUTER socket.
import AgonNN
import AgonTensor
import AgonTraining
import AgonWire
import Foundation

/// The authoritative copy of a run's parameters and optimizer state, and the group of workers.
public final class Coordinator {
    public let configuration: CoordinatorConfiguration
    /// The endpoint actually bound (a `*` port resolved).
    public let endpoint: String
    /// Steps the run trains in all.
    public let totalSteps: Int
    /// Steps completed.
    public private(set) var step: Int

    private let log: @Sendable (String) -> Void
    private let context: WireContext
    private let socket: WireSocket
    private let zap: ZAPHandler?
    private let model: GANModel
    private let update: LocalUpdate
    private let datasetCount: Int
    private let phases: [UInt8]
    private let trainingJSON: String
    private let fixedNoise: Tensor
    private var membership = Membership()
    private var started = false
    private var epoch = 0
    private var epochStart = 0
    private var exchange = Exchange()
    private var lastHeartbeat = ContinuousClock.now
    private var progress = Progress()
    private var packed: (step: Int, phaseIndex: Int, phase: UInt8, values: [Float])?
    private var dropWindow: (start: ContinuousClock.Instant?, logged: Int, suppressed: Int) = (nil, 0, 0)
    private let clock = ContinuousClock()

    /// What the current exchange has gathered.
    private struct Exchange {
        var phaseIndex = 0
        var contributions: [Int: [Float]] = [:]
        var losses: [(Float, Float)] = []
        var deadline: ContinuousClock.Instant?
    }

    private struct Progress {
        var lastStep = ContinuousClock.now
        var samplesPerSecond = 0.0
    }

    /// Binds the socket (and the ZAP handler, with CURVE), builds the model, and restores the
    /// newest checkpoint in the run folder if there is one.
    public init(configuration: CoordinatorConfiguration, datasetCount: Int, log: @escaping @Sendable (String) -> Void) throws {
        self.configuration = configuration
        self.log = log
        self.datasetCount = datasetCount
        var training = configuration.training
        let globalBatch = training.batch * configuration.workers
        guard datasetCount >= globalBatch else {
            throw TrainingError(.countMismatch, path: training.dataDirectory,
                                "\(datasetCount) samples are fewer than one step of \(configuration.workers) workers × batch \(training.batch)")
        }
        totalSteps = training.steps ?? (training.epochs ?? 1) * (datasetCount / globalBatch)
        training.steps = totalSteps
        trainingJSON = String(decoding: try JSONEncoder().encode(training), as: UTF8.self)
        phases = training.update == .simultaneous ? [GANNetwork.phase([.generator, .discriminator])]
                                                  : [GANNetwork.phase([.discriminator]), GANNetwork.phase([.generator])]

        model = GANModel(training.model, engine: Engine(threads: 1), seed: training.seed,
                         widthDivisor: training.widthDivisor, dropout: training.dropout)
        update = LocalUpdate(adamFor: model, learningRate: training.learningRate)
        fixedNoise = model.fixedNoise(count: training.sampleCount, seed: training.seed)
        step = 0
        if let path = Checkpoint.latest(in: configuration.runDirectory + "/checkpoints") {
            let restored = try Checkpoint.restore(path: path, model: model, update: update)
            step = restored.step
            epoch = Int(restored.metadata["epoch"] ?? "") ?? 0
            epochStart = Int(restored.metadata["epoch_start"] ?? "") ?? step
            log("coordinator: resuming after step \(step) from \(path)")
        }

        context = try WireContext()
        var options = WireSocket.Options()
        options.routerMandatory = true
        options.sendTimeoutMilliseconds = 1000   // a worker that stops reading is dropped, not waited for
        if let secret = configuration.curveSecretKey {
            zap = try ZAPHandler(context: context, authorizedKeys: configuration.authorizedKeys,
                                 onRefusal: { log("coordinator: refused a worker: \($0)") })
            options.security = .curveServer(secretKey: secret)
        } else {
            zap = nil
        }
        socket = try WireSocket(context, kind: .router, options: options)
        endpoint = try socket.bind(configuration.bind)
        try FileManager.default.createDirectory(atPath: configuration.runDirectory, withIntermediateDirectories: true)
        let info = try JSONSerialization.data(withJSONObject: ["endpoint": endpoint, "pid": Int(getpid())], options: [.sortedKeys])
        try writeFileAtomically(Array(info), to: configuration.runDirectory + "/coordinator.json")
        log("coordinator: listening on \(endpoint)\(zap == nil ? "" : " with CURVE"), waiting for \(configuration.workers) worker(s); \(totalSteps) steps")
    }

    deinit {
        socket.close()
        zap?.stop()
    }

    /// Serves until the run is complete (returns true) or `stop` is set (returns false).
    public func run(stop: StopFlag) throws -> Bool {
        if step >= totalSteps {
            log("coordinator: the run is already complete (\(step) of \(totalSteps) steps)")
        }
        while !stop.isStopped {
            if started && step >= totalSteps {
                finish(stop: stop)
                return true
            }
            do {
                if let frames = try socket.receive(timeoutMilliseconds: 100) { handle(frames) }
            } catch {
                guard error.code == .oversized else { throw error }
                dropped("a message", error)   // consumed and dropped by the socket; keep serving
            }
            let now = clock.now
            dropSilentWorkers(now: now)
            if let deadline = exchange.deadline, now >= deadline { finishExchange(late: true) }
            if now - lastHeartbeat >= .seconds(configuration.heartbeatInterval) {
                broadcast(.heartbeat(Heartbeat(step: Int64(step))))
                lastHeartbeat = now
            }
        }
        return false
    }

    /// Tells every worker the run is complete and stays until each has left (at most 5 s):
    /// closing at once would discard what is still queued for them, `complete` included.
    private func finish(stop: StopFlag) {
        broadcast(.complete(Complete(step: Int64(step))))
        log("coordinator: run complete after \(step) steps")
        let deadline = clock.now + .seconds(5)
        while membership.count > 0 && clock.now < deadline && !stop.isStopped {
            guard let frames = try? socket.receive(timeoutMilliseconds: 100), let peer = frames.first else { continue }
            switch try? WireMessage.decode(Array(frames.dropFirst())) {
            case .leave?: membership.remove(peer)
            case .join?, .gradients?, .heartbeat?: send(.complete(Complete(step: Int64(step))), to: peer)
            default: break
            }
        }
    }

    // MARK: Messages

    private func handle(_ frames: [[UInt8]]) {
        guard let peer = frames.first else { return }
        let message: WireMessage
        do {
            message = try WireMessage.decode(Array(frames.dropFirst()), maxPayloadBytes: 4 * model.flatCount([.generator, .discriminator]))
        } catch {
            dropped("a message from \(WireSocket.describePeer(peer).prefix(32))", error)
            return
        }
        if case .join(let join) = message {
            admit(peer: peer, join)
            return
        }
        guard var member = membership[peer] else { return }   // a peer that has not joined (yet)
        member.lastHeard = clock.now
        membership[peer] = member
        switch message {
        case .gradients(let g): receive(g, from: member)
        case .leave(let leave):
            membership.remove(peer)
            log("coordinator: worker \(member.name) left: \(leave.reason)")
            finishExchangeIfComplete()
        case .heartbeat: break
        default: log("coordinator: dropped an unexpected \(message.kindName) from \(member.name)")
        }
    }

    private func admit(peer: [UInt8], _ join: Join) {
        let member = membership.add(peer: peer, workerID: join.workerID, host: join.host, pid: join.pid, now: clock.now)
        send(.welcome(Welcome(rank: Int32(member.rank ?? -1), world: Int32(membership.world), step: Int64(step),
                              configuration: trainingJSON)), to: peer)
        if !started {
            log("coordinator: worker \(member.name) joined (\(membership.count) of \(configuration.workers))")
            if membership.count >= configuration.workers { start() }
        } else if let rank = member.rank, exchange.phaseIndex == 0 {
            log("coordinator: worker \(member.name) joined as rank \(rank) of \(membership.world) at step \(step)")
            sendParameters(to: membership[peer]!, phase: GANNetwork.phase([.generator, .discriminator]))
        } else {
            log("coordinator: worker \(member.name) joined; it trains from the next \(member.rank == nil ? "epoch" : "step")")
        }
    }

    private func start() {
        started = true
        membership.reshard()
        if epochStart > step || step - epochStart >= stepsPerEpoch { epochStart = step }
        log("coordinator: starting at step \(step) with \(membership.world) worker(s)")
        progress.lastStep = clock.now
        for member in membership.ranked { sendParameters(to: member, phase: GANNetwork.phase([.generator, .discriminator])) }
    }

    private var stepsPerEpoch: Int { max(1, datasetCount / max(1, configuration.training.batch * max(1, membership.world))) }

    private func receive(_ g: Gradients, from member: Member) {
        let phase = phases[exchange.phaseIndex]
        guard member.active, let rank = member.rank, Int(g.step) == step, g.phase == phase, Int(g.rank) == rank else {
            log("coordinator: late or stale gradients from \(member.name) for step \(g.step) dropped (now at step \(step))")
            if exchange.phaseIndex == 0, member.rank != nil { sendParameters(to: member, phase: GANNetwork.phase([.generator, .discriminator])) }
            return
        }
        let expected = model.flatCount(GANNetwork.networks(phase: phase))
        guard g.values.count == expected else {
            log("coordinator: gradients from \(member.name) hold \(g.values.count) values, the model needs \(expected); dropped")
            return
        }
        exchange.contributions[rank] = g.values
        exchange.losses.append((g.generatorLoss, g.discriminatorLoss))
        if exchange.deadline == nil { exchange.deadline = clock.now + .seconds(configuration.stepDeadline) }
        finishExchangeIfComplete()
    }

    private func finishExchangeIfComplete() {
        let waiting = membership.ranked.filter { $0.active && exchange.contributions[$0.rank!] == nil }
        if !exchange.contributions.isEmpty && waiting.isEmpty { finishExchange(late: false) }
    }

    /// Averages what arrived, in rank order, steps the optimizer and sends the parameters on.
    private func finishExchange(late: Bool) {
        let phase = phases[exchange.phaseIndex]
        let networks = GANNetwork.networks(phase: phase)
        let ranks = exchange.contributions.keys.sorted()
        guard !ranks.isEmpty else { exchange.deadline = nil; return }
        if late {
            let missing = membership.ranked.compactMap(\.rank).filter { exchange.contributions[$0] == nil }
            log("coordinator: step \(step + 1): no gradients from rank(s) \(missing) within \(configuration.stepDeadline) s; averaging \(ranks.count)")
        }
        var mean = [Float](repeating: 0, count: model.flatCount(networks))
        mean.withUnsafeMutableBufferPointer { sum in
            for rank in ranks {
                exchange.contributions[rank]!.withUnsafeBufferPointer { Elementwise.add($0.baseAddress!, into: sum.baseAddress!, count: sum.count) }
            }
            Elementwise.scale(sum.baseAddress!, by: 1 / Float(ranks.count), count: sum.count)
            model.unpackGradients(networks, from: sum.baseAddress!)
        }
        try? update.apply(networks, step: step, metrics: StepMetrics(step: step))
        let losses = exchange.losses
        exchange = Exchange(phaseIndex: exchange.phaseIndex + 1)
        var payload = phase
        if exchange.phaseIndex == phases.count {
            completeStep(contributors: ranks.count, losses: losses)
            exchange.phaseIndex = 0
            payload = GANNetwork.phase(networks)
        }
        // After the last step too: workers then record that step's metrics and wait for `complete`.
        for member in membership.ranked where member.active || exchange.phaseIndex == 0 {
            sendParameters(to: member, phase: member.active ? payload : GANNetwork.phase([.generator, .discriminator]))
        }
    }

    private func completeStep(contributors: Int, losses: [(Float, Float)]) {
        step += 1
        let now = clock.now
        let seconds = max((now - progress.lastStep).seconds, 1e-9)
        progress.lastStep = now
        let rate = Double(contributors * configuration.training.batch) / seconds
        progress.samplesPerSecond = progress.samplesPerSecond == 0 ? rate : 0.9 * progress.samplesPerSecond + 0.1 * rate
        if let onProgress = configuration.onProgress {
            let n = Float(max(losses.count, 1))
            onProgress(CoordinatorProgress(step: step, totalSteps: totalSteps, workers: contributors,
                                           generatorLoss: losses.map(\.0).reduce(0, +) / n,
                                           discriminatorLoss: losses.map(\.1).reduce(0, +) / n,
                                           samplesPerSecond: progress.samplesPerSecond))
        }
        let training = configuration.training
        if let onSamples = configuration.onSamples, step % training.sampleEvery == 0 || step == totalSteps {
            onSamples(step, model.samples(fixedNoise))
        }
        let every = configuration.training.checkpointEvery
        if (every > 0 && step % every == 0) || step == totalSteps { checkpoint() }
        if step - epochStart >= stepsPerEpoch {
            epoch += 1
            epochStart = step
            let before = membership.world
            membership.reshard()
            if membership.world != before { log("coordinator: epoch \(epoch): data re-sharded among \(membership.world) worker(s)") }
        }
    }

    private func checkpoint() {
        do {
            let path = try Checkpoint.save(model: model, update: update, step: step,
                                           metadata: ["epoch": String(epoch), "epoch_start": String(epochStart),
                                                      "seed": String(configuration.training.seed),
                                                      "batch": String(configuration.training.batch),
                                                      "update": configuration.training.update.rawValue],
                                           directory: configuration.runDirectory + "/checkpoints")
            log("coordinator: checkpoint after step \(step): \(path)")
        } catch {
            log("coordinator: checkpoint after step \(step) failed, training goes on: \(error)")
        }
    }

    /// Logs a dropped message, at most 100 lines in 10 s, counting the ones not logged, so a
    /// peer sending garbage cannot flood the log.
    private func dropped(_ what: String, _ error: any Error) {
        let now = clock.now
        if dropWindow.start == nil || now - dropWindow.start! >= .seconds(10) {
            if dropWindow.suppressed > 0 { log("coordinator: \(dropWindow.suppressed) more dropped messages were not logged") }
            dropWindow = (now, 0, 0)
        }
        guard dropWindow.logged < 100 else {
            dropWindow.suppressed += 1
            return
        }
        dropWindow.logged += 1
        log("coordinator: dropped \(what): \(error)")
    }

    // MARK: Sending

    /// The parameters of `phase`'s networks as sent, packed once per step and phase.
    private func packedParameters(_ phase: UInt8) -> [Float] {
        if let cached = packed, cached.step == step, cached.phaseIndex == exchange.phaseIndex, cached.phase == phase {
            return cached.values
        }
        let networks = GANNetwork.networks(phase: phase)
        var values = [Float](repeating: 0, count: model.flatCount(networks))
        values.withUnsafeMutableBufferPointer { model.packParameters(networks, into: $0.baseAddress!) }
        packed = (step, exchange.phaseIndex, phase, values)
        return values
    }

    private func sendParameters(to member: Member, phase: UInt8) {
        guard let rank = member.rank else { return }
        let values = packedParameters(phase)
        let message = WireMessage.parameters(Parameters(step: Int64(step), phase: phase, rank: Int32(rank), world: Int32(membership.world),
                                                        epoch: Int64(epoch), epochStart: Int64(epochStart), values: values))
        if send(message, to: member.peer) { membership[member.peer]?.active = true }
    }

    @discardableResult
    private func send(_ message: WireMessage, to peer: [UInt8]) -> Bool {
        do {
            try socket.send(message, to: peer)
            return true
        } catch {
            if let member = membership.remove(peer) { log("coordinator: worker \(member.name) is gone (\(error)); dropped") }
            finishExchangeIfComplete()
            return false
        }
    }

    private func broadcast(_ message: WireMessage) {
        for member in membership.all { send(message, to: member.peer) }
    }

    private func dropSilentWorkers(now: ContinuousClock.Instant) {
        let cutoff = now - .seconds(configuration.heartbeatInterval * Double(configuration.liveness))
        for member in membership.silent(since: cutoff) {
            membership.remove(member.peer)
            log("coordinator: worker \(member.name)\(member.rank.map { " (rank \($0))" } ?? "") dropped after \(configuration.liveness) missed heartbeats")
            finishExchangeIfComplete()
        }
    }
}
