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
    /// This start's generation of the run (1 for the first start on the run folder), and the
    /// step it resumed after: workers tag their events with it, and the aggregator hides what
    /// earlier generations stored past that step.
    public let generation: Int64
    public let resumedFrom: Int
    /// The run's settings and this generation as JSON, for the run store.
    public let generationSettings: String

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
    /// The parameter segment of the shared-memory lane, made when the first worker offers one.
    /// It always holds every current parameter of both networks: written whole when made, and
    /// each network's part again as soon as its optimizer steps (so D's is written while the
    /// workers still compute G's gradients). `publishedSequence` is the sequence of the last write.
    private var parameterSegment: SharedSegment?
    private var publishedSequence: UInt64 = 0
    /// Set when an average held NaN or infinity: the run stops without applying it.
    private var diverged: TrainingError?
    private var dropLog = DropLog(prefix: "coordinator: ")
    private let clock = ContinuousClock()
    /// Each network as the last completed step left it, taken before the network is averaged,
    /// so that a step stopped half-way (diverged, or interrupted) can be undone and the step
    /// before it checkpointed.
    private lazy var snapshots = GANNetwork.allCases.map { NetworkSnapshot($0, of: model, update: update) }
    /// Set by a stop: the ranks then live, each of which must send its gradients for the
    /// exchange in flight to complete (a worker that leaves on the same signal does not shrink
    /// the average, so the step stays what an uninterrupted run computes).
    private var stoppingRanks: [Int]?
    /// Ranks whose workers left because they were stopped, and when. Until the step deadline
    /// has passed since, an exchange waits for them as for a silent worker: Ctrl-C or a job's
    /// SIGTERM reaches every process at once, and the coordinator's own stop, an instant after
    /// such a leave, must undo the step rather than keep one averaged without that worker.
    private var stoppedRanks: [Int: ContinuousClock.Instant] = [:]

    /// How long a stop keeps serving an exchange in flight, so that it can complete.
    public static let stopGrace: Duration = .seconds(2)

    /// What the current exchange has gathered: per rank, the pieces that arrived (a worker may
    /// send the discriminator's gradients before the generator's, so that they are averaged
    /// and applied while it is still computing the generator's), and which networks are done.
    private struct Exchange {
        var phaseIndex = 0
        var pieces: [Int: [Piece]] = [:]
        var applied: [GANNetwork] = []
        var deadline: ContinuousClock.Instant?
        /// The ranks sent D's parameters ahead of G's in a simultaneous step.
        var discriminatorSent: Set<Int> = []
    }

    /// One gradients message: the networks it covers, the sender's losses, and its values.
    private struct Piece {
        let networks: [GANNetwork]
        let losses: (generator: Float, discriminator: Float)
        let values: Contribution
    }

    /// Where a rank's gradients for the current exchange are: received over the socket, or in
    /// the worker's segment (which it leaves alone until the parameters come back).
    private enum Contribution {
        case received([Float])
        case shared(SharedSegment)

        func withValues(_ body: (UnsafePointer<Float>) -> Void) {
            switch self {
            case .received(let values): values.withUnsafeBufferPointer { body($0.baseAddress!) }
            case .shared(let segment): body(segment.readableValues)
            }
        }

        /// Calls `body` with the values of every contribution, in order.
        static func withValues(of all: ArraySlice<Contribution>, _ gathered: [UnsafePointer<Float>] = [],
                               _ body: ([UnsafePointer<Float>]) -> Void) {
            guard let first = all.first else { return body(gathered) }
            first.withValues { withValues(of: all.dropFirst(), gathered + [$0], body) }
        }

        /// Calls `body` with every contribution's values of `network`: received values are
        /// packed from 0 for the message's networks; a segment holds both networks' layouts.
        static func withValues(of network: GANNetwork, in pieces: [Piece], model: GANModel,
                               _ body: ([UnsafePointer<Float>]) -> Void) {
            let offsets = pieces.map { piece -> Int in
                let packed: [GANNetwork] = if case .shared = piece.values { [.generator, .discriminator] } else { piece.networks }
                return packed.contains(.generator) ? model.offsetInBoth(network) : 0
            }
            withValues(of: pieces.map(\.values)[...]) { bases in body(zip(bases, offsets).map { $0 + $1 }) }
        }
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
        update = LocalUpdate(adamFor: model, generatorLearningRate: training.learningRate, discriminatorLearningRate: training.effectiveDiscriminatorLearningRate)
        fixedNoise = model.fixedNoise(count: training.sampleCount, seed: training.seed)
        step = 0
        let host = ProcessInfo.processInfo.hostName
        try FileManager.default.createDirectory(atPath: configuration.runDirectory, withIntermediateDirectories: true)
        // Refused before a checkpoint of other networks is read.
        try RunRecord.checkResumable(runDirectory: configuration.runDirectory, settings: configuration.training, workers: configuration.workers)
        if let path = Checkpoint.latest(in: configuration.runDirectory + "/checkpoints") {
            let restored = try Checkpoint.restore(path: path, model: model, update: update)
            step = restored.step
            epoch = Int(restored.metadata["epoch"] ?? "") ?? 0
            epochStart = Int(restored.metadata["epoch_start"] ?? "") ?? step
            log("coordinator: resuming after step \(step) from \(path)")
        }
        let (record, started) = try RunRecord.beginGeneration(runDirectory: configuration.runDirectory, settings: configuration.training,
                                                              workers: configuration.workers, resumedFrom: step, host: host)
        generation = started.generation
        resumedFrom = step
        generationSettings = record.settingsJSON(of: started)
        for change in started.changes { log("coordinator: the run goes on with \(change)") }

        let abandoned = SharedSegment.removeAbandoned(role: "coordinator")
        if abandoned > 0 { log("coordinator: removed \(abandoned) shared-memory segment(s) left by agon processes that no longer run") }
        context = try WireContext()
        var options = WireSocket.Options()
        options.routerMandatory = true
        options.sendTimeoutMilliseconds = 1000   // a worker that stops reading is dropped, not waited for
        (zap, options.security) = try ZAPHandler.serving(context: context, secretKey: configuration.curveSecretKey,
                                                         authorizedKeys: configuration.authorizedKeys,
                                                         onRefusal: { log("coordinator: refused a worker: \($0)") })
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
        parameterSegment?.unlink()
    }

    /// G's images for the fixed noise at the step this start resumed after, when that step is
    /// one that draws them (nil otherwise).
    public func samplesAtResume() -> Tensor? {
        guard resumedFrom > 0, resumedFrom % configuration.training.sampleEvery == 0 || resumedFrom == totalSteps else { return nil }
        return model.samples(fixedNoise)
    }

    /// Serves until the run is complete (returns true) or `stop` is set (returns false).
    ///
    /// A stop serves on for at most `stopGrace` while an exchange is in flight, then
    /// checkpoints the last completed step (undoing any part of the next already applied)
    /// unless a checkpoint holds it, and logs one line saying which.
    ///
    /// - Throws: `TrainingError.diverged` after stopping the workers when a step's losses or
    ///   averaged gradients are NaN or infinite; that step is not applied and the parameters
    ///   before it are checkpointed, so the newest checkpoint is the last good one.
    public func run(stop: StopFlag) throws -> Bool {
        if step >= totalSteps {
            log("coordinator: the run is already complete (\(step) of \(totalSteps) steps)")
        }
        while !stop.isStopped {
            if let diverged {
                finish(stop: stop, complete: false)
                throw diverged
            }
            if started && step >= totalSteps {
                finish(stop: stop, complete: true)
                return true
            }
            try serve(timeoutMilliseconds: 100)
        }
        try stopServing()
        return false
    }

    /// Receives and handles one message if one comes within `timeoutMilliseconds`, then drops
    /// silent workers, ends an exchange past its deadline (not while stopping) and heartbeats.
    private func serve(timeoutMilliseconds: Int) throws {
        do {
            if let frames = try socket.receive(timeoutMilliseconds: timeoutMilliseconds) { handle(frames) }
        } catch {
            guard error.code == .oversized else { throw error }
            dropped("a message", error)   // consumed and dropped by the socket; keep serving
        }
        let now = clock.now
        dropSilentWorkers(now: now)
        if stoppingRanks == nil, let deadline = exchange.deadline, now >= deadline { finishExchange(late: true) }
        if now - lastHeartbeat >= .seconds(configuration.heartbeatInterval) {
            broadcast(.heartbeat(Heartbeat(step: Int64(step))))
            lastHeartbeat = now
        }
    }

    /// Tells every worker the run is over and stays until each has left (at most 5 s):
    /// closing at once would discard what is still queued for them, `complete` included.
    /// `complete` is false for a run stopped at a diverged step, which has said so already.
    private func finish(stop: StopFlag, complete: Bool) {
        broadcast(.complete(Complete(step: Int64(step))))
        if complete { log("coordinator: run complete after \(step) steps") }
        let deadline = clock.now + .seconds(5)
        while membership.count > 0 && clock.now < deadline && !stop.isStopped {
            guard let frames = try? socket.receive(timeoutMilliseconds: 100), let peer = frames.first else { continue }
            switch try? WireMessage.decode(Array(frames.dropFirst())) {
            case .leave?: membership.remove(peer)
            case .join?, .gradients?, .sharedGradients?, .heartbeat?: send(.complete(Complete(step: Int64(step))), to: peer)
            default: break
            }
        }
    }

    // MARK: Stopping

    /// Ranks that left on a stop less than a step deadline ago, and not back since.
    private var recentlyStoppedRanks: [Int] {
        let cutoff = clock.now - .seconds(configuration.stepDeadline)
        let present = Set(membership.ranked.compactMap(\.rank))
        return stoppedRanks.filter { $0.value > cutoff && !present.contains($0.key) }.map(\.key).sorted()
    }

    /// Whether part of the next step has arrived or been applied: the model is not at a step
    /// boundary until it completes or is undone.
    private var isMidStep: Bool {
        !exchange.pieces.isEmpty || exchange.phaseIndex != 0 || snapshots.contains { $0.holding != .nothing }
    }

    /// Whether the exchange in flight can still complete during a stop: every rank live at the
    /// stop is still here, or has sent all it owes.
    private var exchangeCanComplete: Bool {
        let networks = GANNetwork.networks(phase: phases[exchange.phaseIndex])
        let present = Set(membership.ranked.compactMap(\.rank))
        return (stoppingRanks ?? []).allSatisfy { rank in present.contains(rank) || networks.allSatisfy { ranks(having: $0).contains(rank) } }
    }

    /// The stop: serves the exchange in flight for at most `stopGrace` (workers have usually
    /// sent both networks' gradients by then), undoes what is applied of a step that did not
    /// complete, and checkpoints the last completed step unless a checkpoint holds it.
    private func stopServing() throws {
        stoppingRanks = membership.ranked.filter(\.active).compactMap(\.rank) + recentlyStoppedRanks
        let deadline = clock.now + Self.stopGrace
        while diverged == nil, isMidStep, exchangeCanComplete, clock.now < deadline {
            try serve(timeoutMilliseconds: max(1, min(100, Int((deadline - clock.now).seconds * 1000))))
        }
        if let diverged { throw diverged }   // stopped at a diverged step, checkpointed there
        let undone = isMidStep ? " (step \(step + 1) did not complete in time and is not kept)" : ""
        rollBack()
        log("coordinator: stopped after step \(step)\(undone); \(checkpointUnlessSaved())")
    }

    /// Puts back every network averaged since the last completed step.
    private func rollBack() {
        for snapshot in snapshots { snapshot.restore() }
        exchange = Exchange(phaseIndex: 0)
    }

    /// Checkpoints the current (completed) step unless the newest checkpoint already holds it;
    /// says which, for the line that ends a stop.
    private func checkpointUnlessSaved() -> String {
        let latest = Checkpoint.latest(in: configuration.runDirectory + "/checkpoints")
        if let latest, latest.hasSuffix("/" + Checkpoint.fileName(step: step)) { return "checkpoint \(latest) already holds it" }
        guard step > 0 else { return "checkpoint: none (no step completed)" }
        do {
            return "checkpoint \(try saveCheckpoint())"
        } catch {
            return "checkpoint failed (\(error)); the newest checkpoint is \(latest ?? "none")"
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
        case .gradients(let g): receive(g, .received(g.values), count: g.values.count, from: member)
        case .sharedGradients(let g):
            guard let lane = member.lane else {
                log("coordinator: dropped shared-memory gradients from \(member.name), which has no lane")
                return
            }
            guard lane.isIntact else {
                // Its segment shrank under the coordinator: its values cannot be trusted again.
                membership[peer]?.lane = nil
                log("coordinator: worker \(member.name)'s shared-memory segment shrank; its lane is closed and its gradients dropped")
                return
            }
            if parameterSegment != nil { membership[peer]?.readsSharedParameters = true }
            receive(g, .shared(lane), count: lane.count, from: member)
        case .sharedMemoryOffer(let offer): openLane(offer, from: member)
        case .leave(let leave):
            membership.remove(peer)
            log("coordinator: worker \(member.name) left: \(leave.reason)")
            if leave.stopped, member.active, let rank = member.rank { stoppedRanks[rank] = clock.now }
            finishExchangeIfComplete()
        case .heartbeat: break
        default: log("coordinator: dropped an unexpected \(message.kindName) from \(member.name)")
        }
    }

    private func admit(peer: [UInt8], _ join: Join) {
        let member = membership.add(peer: peer, workerID: join.workerID, host: join.host, pid: join.pid, now: clock.now)
        send(.welcome(Welcome(rank: Int32(member.rank ?? -1), world: Int32(membership.world), step: Int64(step),
                              configuration: trainingJSON, generation: generation, aggregator: configuration.aggregator ?? "")), to: peer)
        if !started {
            log("coordinator: worker \(member.name) joined (\(membership.count) of \(configuration.workers))")
            if membership.count >= configuration.workers { start() }
        } else if let rank = member.rank {
            // Between exchanges it starts at once; in the middle of one (part of the step
            // applied already), the parameters that end the exchange start it.
            let now = exchange.phaseIndex == 0 && exchange.applied.isEmpty
            log("coordinator: worker \(member.name) joined as rank \(rank) of \(membership.world)\(now ? " at step \(step)" : "; it trains from the next step")")
            if now { sendParameters(to: membership[peer]!, phase: GANNetwork.phase([.generator, .discriminator])) }
        } else {
            log("coordinator: worker \(member.name) joined; it trains from the next epoch")
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

    private func receive(_ g: Gradients, _ values: Contribution, count: Int, from member: Member) {
        let networks = GANNetwork.networks(phase: phases[exchange.phaseIndex])
        let sent = GANNetwork.networks(phase: g.phase)
        let already = member.rank.map { exchange.pieces[$0, default: []].flatMap(\.networks) } ?? []
        guard member.active, let rank = member.rank, Int(g.step) == step, Int(g.rank) == rank, !sent.isEmpty,
              sent.allSatisfy({ networks.contains($0) && !already.contains($0) && !exchange.applied.contains($0) }) else {
            log("coordinator: late or stale gradients from \(member.name) for step \(g.step) dropped (now at step \(step))")
            // Answered once per stale step: at its last piece (the generator's, or the only one).
            let last = sent.contains(.generator) || !networks.contains(.generator)
            if last, exchange.phaseIndex == 0, exchange.applied.isEmpty, member.rank != nil {
                sendParameters(to: member, phase: GANNetwork.phase([.generator, .discriminator]))
            }
            return
        }
        let expected = model.flatCount(sent)
        guard count == expected || (count > expected && g.values.isEmpty) else {
            log("coordinator: gradients from \(member.name) hold \(count) values, the model needs \(expected); dropped")
            return
        }
        exchange.pieces[rank, default: []].append(Piece(networks: sent, losses: (g.generatorLoss, g.discriminatorLoss), values: values))
        if exchange.deadline == nil { exchange.deadline = clock.now + .seconds(configuration.stepDeadline) }
        finishExchangeIfComplete()
    }

    /// Applies each network every live rank has sent, and ends the exchange when all are.
    private func finishExchangeIfComplete() {
        let networks = GANNetwork.networks(phase: phases[exchange.phaseIndex])
        let live = stoppingRanks ?? (membership.ranked.filter(\.active).compactMap(\.rank) + recentlyStoppedRanks)
        for network in networks where !exchange.applied.contains(network) {
            let senders = ranks(having: network)
            guard !senders.isEmpty, live.allSatisfy(senders.contains) else { continue }
            guard average(network, over: senders) else { return }
        }
        if exchange.applied.count == networks.count {
            finishExchange(late: false)
        } else if networks.count == 2, exchange.applied == [.discriminator], exchange.discriminatorSent.isEmpty {
            sendDiscriminatorFirst(to: ranks(having: .discriminator))
        }
    }

    /// In a simultaneous step, sends D's new parameters to `ranks` as soon as D is applied:
    /// they run the next step's pass of D on real data while G's gradients are averaged, and
    /// the parameters that end the step then carry G's alone.
    private func sendDiscriminatorFirst(to ranks: [Int]) {
        let current = step
        for member in membership.ranked where member.active {
            guard let rank = member.rank, ranks.contains(rank) else { continue }
            guard step == current, exchange.applied == [.discriminator] else { return }   // a failed send ended the exchange
            exchange.discriminatorSent.insert(rank)
            sendParameters(to: member, phase: GANNetwork.phase([.discriminator]))
        }
    }

    /// The ranks whose pieces cover `network`, in rank order.
    private func ranks(having network: GANNetwork) -> [Int] {
        exchange.pieces.keys.sorted().filter { exchange.pieces[$0]!.contains { $0.networks.contains(network) } }
    }

    /// Averages `network`'s gradients over `ranks` in rank order and steps its optimizer;
    /// false (and the run stopping) if they or the losses that came with them are not finite.
    private func average(_ network: GANNetwork, over ranks: [Int]) -> Bool {
        let pieces = ranks.map { rank in exchange.pieces[rank]!.first { $0.networks.contains(network) }! }
        let losses = pieces.map { network == .generator ? $0.losses.generator : $0.losses.discriminator }
        guard losses.allSatisfy(\.isFinite) else {
            stopDiverged(losses: pieces.map(\.losses), networks: [network])
            return false
        }
        // The network that completes the step needs only its moving statistics kept (the
        // average writes them; its optimizer runs only once the step is sure to complete).
        let completesStep = exchange.phaseIndex == phases.count - 1
            && exchange.applied.count == GANNetwork.networks(phase: phases[exchange.phaseIndex]).count - 1
        snapshots[network == .generator ? 0 : 1].take(completesStep ? .state : .everything)
        Contribution.withValues(of: network, in: pieces, model: model) { model.averageGradients([network], of: $0) }
        guard model.network(network).gradientNorm().isFinite else {
            stopDiverged(losses: pieces.map(\.losses), networks: [network])
            return false
        }
        try? update.apply([network], step: step, metrics: StepMetrics(step: step))
        publish([network])
        exchange.applied.append(network)
        return true
    }

    /// Ends the exchange: at the deadline, averages what arrived of each network not yet
    /// applied; then completes the step (after its last exchange) and sends the parameters on.
    private func finishExchange(late: Bool) {
        let phase = phases[exchange.phaseIndex]
        let networks = GANNetwork.networks(phase: phase)
        guard !exchange.pieces.isEmpty else { exchange.deadline = nil; return }
        if late {
            let missing = (membership.ranked.compactMap(\.rank) + recentlyStoppedRanks).filter { rank in
                networks.contains { !ranks(having: $0).contains(rank) }
            }
            stoppedRanks.removeAll()   // waited for once: the run goes on without them
            log("coordinator: step \(step + 1): no gradients from rank(s) \(missing) within \(configuration.stepDeadline) s; averaging the others")
            for network in networks where !exchange.applied.contains(network) {
                let senders = ranks(having: network)
                guard !senders.isEmpty else { continue }
                guard average(network, over: senders) else { return }
            }
        }
        // The progress shows the losses each rank sent with its last network of the exchange.
        let last = networks.last!
        let contributors = ranks(having: last)
        let losses = contributors.compactMap { rank in exchange.pieces[rank]!.first { $0.networks.contains(last) }.map { ($0.losses.generator, $0.losses.discriminator) } }
        let discriminatorSent = exchange.discriminatorSent
        exchange = Exchange(phaseIndex: exchange.phaseIndex + 1)
        var payload = phase
        if exchange.phaseIndex == phases.count {
            completeStep(contributors: contributors, losses: losses)
            exchange.phaseIndex = 0
            payload = GANNetwork.phase(networks)
        }
        // After the last step too: workers then record that step's metrics and wait for `complete`.
        for member in membership.ranked where member.active || exchange.phaseIndex == 0 {
            let networks: UInt8 = !member.active ? GANNetwork.phase([.generator, .discriminator])
                : discriminatorSent.contains(member.rank ?? -1) ? GANNetwork.phase([.generator]) : payload
            sendParameters(to: member, phase: networks)
        }
    }

    private func completeStep(contributors ranks: [Int], losses: [(Float, Float)]) {
        let contributors = ranks.count
        step += 1
        for snapshot in snapshots { snapshot.discard() }
        let now = clock.now
        let seconds = max((now - progress.lastStep).seconds, 1e-9)
        progress.lastStep = now
        let rate = Double(contributors * configuration.training.batch) / seconds
        progress.samplesPerSecond = progress.samplesPerSecond == 0 ? rate : 0.9 * progress.samplesPerSecond + 0.1 * rate
        if let onProgress = configuration.onProgress {
            let n = Float(max(losses.count, 1))
            onProgress(CoordinatorProgress(step: step, totalSteps: totalSteps, workers: contributors, ranks: ranks,
                                           generatorLoss: losses.map(\.0).reduce(0, +) / n,
                                           discriminatorLoss: losses.map(\.1).reduce(0, +) / n,
                                           samplesPerSecond: progress.samplesPerSecond))
        }
        let training = configuration.training
        if let onSamples = configuration.onSamples, step % training.sampleEvery == 0 || step == totalSteps {
            onSamples(step, model.samples(fixedNoise))
        }
        configuration.onStepCompleted?(step, totalSteps, model)
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

    /// Stops the run at a step whose losses or averaged gradients are not finite: the step is
    /// not applied, and the parameters before it are checkpointed (unless they already are).
    private func stopDiverged(losses: [(Float, Float)], networks: [GANNetwork]) {
        let shown = losses.map { "G \($0.0), D \($0.1)" }.joined(separator: "; ")
        let which = networks.map(\.rawValue).joined(separator: ", ").uppercased()
        log("coordinator: step \(step + 1): \(which) losses or averaged gradients are not finite (\(shown)); the step is not applied and the run stops")
        // What of this step was applied is undone: the parameters are those after `step` steps.
        rollBack()
        let saved = checkpointUnlessSaved()
        log("coordinator: stopped after step \(step); \(saved)")
        let kept = Checkpoint.latest(in: configuration.runDirectory + "/checkpoints")
        diverged = TrainingError(.diverged, path: "step \(step + 1)",
                                 "\(which) losses or averaged gradients are not finite (\(shown)); training stopped; the last good checkpoint is \(kept.map { "\($0) (after step \(step))" } ?? "none (no step completed)")")
    }

    private func checkpoint() {
        defer { configuration.onCheckpoint?(step) }
        do {
            log("coordinator: checkpoint after step \(step): \(try saveCheckpoint())")
        } catch {
            log("coordinator: checkpoint after step \(step) failed, training goes on: \(error)")
        }
    }

    /// Writes the checkpoint after `step` steps; returns its path.
    private func saveCheckpoint() throws -> String {
        try Checkpoint.save(model: model, update: update, step: step,
                            metadata: ["epoch": String(epoch), "epoch_start": String(epochStart),
                                       "seed": String(configuration.training.seed),
                                       "batch": String(configuration.training.batch),
                                       "update": configuration.training.update.rawValue],
                            directory: configuration.runDirectory + "/checkpoints")
    }

    /// Logs a dropped message, at most 100 lines in 10 s, counting the ones not logged, so a
    /// peer sending garbage cannot flood the log.
    private func dropped(_ what: String, _ error: any Error) {
        for line in dropLog.record("dropped \(what): \(error)", now: clock.now) { log(line) }
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
        var parameters = Parameters(step: Int64(step), phase: phase, rank: Int32(rank), world: Int32(membership.world),
                                    epoch: Int64(epoch), epochStart: Int64(epochStart), values: [])
        let message: WireMessage
        if member.readsSharedParameters, parameterSegment != nil {
            message = .sharedParameters(parameters, sequence: publishedSequence)
        } else {
            parameters.values = packedParameters(phase)
            message = .parameters(parameters)
        }
        if send(message, to: member.peer) { membership[member.peer]?.active = true }
    }

    /// Writes `networks`' parameters into the parameter segment, each where it sits in the
    /// layout of both and as that network's part. A worker still reading an older write of a
    /// network (one that fell behind) sees its part move and waits for the next message.
    private func publish(_ networks: [GANNetwork]) {
        guard let segment = parameterSegment, let first = networks.first else { return }
        publishedSequence = segment.publish(parts: networks.map(\.part)) {
            model.packParameters(networks, into: $0 + model.offsetInBoth(first))
        }
    }

    // MARK: The shared-memory lane

    /// Answers a worker's offer of its gradient segment: accepted if the segment opens here
    /// (the worker is on this machine, as this user) and fits the model.
    private func openLane(_ offer: SharedMemoryOffer, from member: Member) {
        let full = model.flatCount([.generator, .discriminator])
        let answer: SharedMemoryAnswer
        if !configuration.sharedMemory {
            answer = .refused("the coordinator runs with shared memory off")
        } else if offer.count != Int64(full) {
            answer = .refused("the offered segment holds \(offer.count) values; the model has \(full)")
        } else {
            do {
                let lane = try SharedSegment.open(path: offer.path, token: offer.token, count: full)
                let segment: SharedSegment
                if let parameterSegment {
                    segment = parameterSegment
                } else {
                    segment = try SharedSegment.create(role: "coordinator", count: full)
                    parameterSegment = segment
                    publish([.generator, .discriminator])
                }
                membership[member.peer]?.lane = lane
                membership[member.peer]?.readsSharedParameters = false
                answer = .accepted(path: segment.path, token: segment.token, count: Int64(full))
                log("coordinator: worker \(member.name) shares memory with the coordinator: gradients and parameters bypass the socket")
            } catch {
                answer = .refused("\(error)")
                log("coordinator: worker \(member.name) offered shared memory that cannot be used; it goes on over the socket: \(error)")
            }
        }
        send(.sharedMemoryAnswer(answer), to: member.peer)
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
