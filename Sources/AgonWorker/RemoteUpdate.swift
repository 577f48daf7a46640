// The worker's side of the `ParameterUpdate` seam: gradients go to the coordinator, averaged
// parameters come back; heartbeats, reconnection and rejoining happen while it waits.
import AgonNN
import AgonTraining
import AgonWire
import Foundation

/// Why an exchange ended without the reply it waited for.
enum ExchangeInterruption: Error {
    /// The coordinator says the run is over.
    case complete(step: Int)
    /// New parameters for another step arrived (after a rejoin, or because this worker fell
    /// behind): the current step is abandoned and training resumes at `step`.
    case resync(step: Int)
}

/// Where this worker stands in the group, from the coordinator's last parameters message.
struct Assignment: Equatable {
    var step: Int
    var rank: Int
    var world: Int
    var epoch: Int
    var epochStart: Int
}

/// Sends gradients and waits for parameters, keeping the connection alive.
final class RemoteUpdate: ParameterUpdate {
    private let connection: CoordinatorConnection
    private let stop: StopFlag
    var model: GANModel?
    /// The assignment the last parameters carried.
    private(set) var assignment: Assignment?
    /// Seconds spent between sending gradients and having the parameters back, over completed
    /// steps; `pendingWaiting` is the current step's until it completes or is abandoned.
    private(set) var waitingSeconds = 0.0
    private var pendingWaiting = 0.0
    private let clock = ContinuousClock()
    private var buffer: [Float] = []
    /// The shared-memory lane: this worker's gradient segment, and the coordinator's parameter
    /// segment once the offer is accepted and mapped (nil: everything goes over the socket).
    private var lane: (gradients: SharedSegment, parameters: SharedSegment?)?
    /// Set when a read from the parameter segment was overtaken by a newer write: the next read
    /// takes both networks, since the one read half-way may not come again.
    private var readBothNext = false
    /// The networks sent early in the current step, which `apply` does not send again.
    private var sentEarly: (step: Int, networks: [GANNetwork])?
    /// The metrics of a step whose exchange is still open: a step interrupted by `complete`
    /// (a run stopped at a diverged step) is still recorded with them.
    private(set) var interruptedMetrics: StepMetrics?
    /// Work for the wait on G's parameters, called with the next step once D holds that
    /// step's parameters: the worker runs the next step's pass of D on real data
    /// (`Trainer.prepare(step:)`). Its time is not counted as waiting.
    var prepareNextStep: ((Int) -> Void)?
    /// When this worker first saw the stop while it waited on a reply to gradients it had sent.
    private var stopSeen: ContinuousClock.Instant?

    /// How long a stopped worker still waits for the parameters of a step whose gradients it
    /// sent: the coordinator completes that step in its own grace, and the step's metrics are
    /// then recorded.
    static let stopGrace: Duration = .seconds(2)

    init(connection: CoordinatorConnection, stop: StopFlag) {
        self.connection = connection
        self.stop = stop
    }

    deinit { lane?.gradients.unlink() }

    /// Offers the coordinator a shared-memory lane if it is on this machine (a loopback or ipc
    /// endpoint) and the configuration allows it; the answer arrives with the parameters.
    func offerSharedMemory() {
        lane = nil
        guard connection.configuration.sharedMemory, WireSocket.isLoopback(connection.configuration.coordinator), let model else { return }
        do {
            let segment = try SharedSegment.create(role: "worker", count: model.flatCount([.generator, .discriminator]))
            lane = (segment, nil)
            try connection.send(.sharedMemoryOffer(SharedMemoryOffer(path: segment.path, token: segment.token, count: Int64(segment.count))))
        } catch {
            lane?.gradients.unlink()
            lane = nil
            connection.log("worker: no shared-memory lane, gradients go over the socket: \(error)")
        }
    }

    /// Takes the coordinator's answer: maps its parameter segment, or goes on over the socket.
    private func take(_ answer: SharedMemoryAnswer) {
        guard let gradients = lane?.gradients else { return }
        gradients.unlink()   // the coordinator has it mapped, or will never map it
        guard answer.accepted else {
            lane = nil
            connection.log("worker: the coordinator declined shared memory (\(answer.reason)); gradients and parameters go over the socket")
            return
        }
        do {
            let parameters = try SharedSegment.open(path: answer.path, token: answer.token, count: gradients.count)
            lane = (gradients, parameters)
            connection.log("worker: sharing memory with the coordinator: gradients and parameters bypass the socket")
        } catch {
            lane = nil
            connection.log("worker: cannot map the coordinator's parameter segment, going on over the socket: \(error)")
        }
    }

    /// Sends `networks`' gradients at once (the discriminator's, while the generator's
    /// backward pass runs); `apply` sends the rest and waits for the parameters.
    func gradientsReady(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws {
        try send(networks, step: step, metrics: metrics)
        sentEarly = (step, networks)
    }

    func apply(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws {
        var rest = networks
        if let early = sentEarly, early.step == step { rest.removeAll { early.networks.contains($0) } }
        sentEarly = nil
        interruptedMetrics = metrics
        let start = clock.now
        var working = Duration.zero
        defer { pendingWaiting += (clock.now - start - working).seconds }
        func prepareNext() {
            guard let prepareNextStep else { return }
            let began = clock.now
            prepareNextStep(step + 1)
            working += clock.now - began
        }
        if !rest.isEmpty { try send(rest, step: step, metrics: metrics) }
        // Alternating: D was updated earlier in this step and G's update leaves it alone.
        if networks == [.generator] { prepareNext() }
        // Simultaneous: the coordinator sends D's parameters as soon as it has averaged D,
        // ahead of G's (which then come alone).
        var expected = networks
        while true {
            let reply = try awaitParameters(replyingTo: true)
            let received = GANNetwork.networks(phase: reply.phase)
            if networks.count == 2, received == [.discriminator] {
                if Int(reply.step) == step, expected.count == 2 {
                    expected = [.generator]
                    prepareNext()
                }
                continue
            }
            interruptedMetrics = nil
            // The reply to this exchange: the networks just averaged, at this step (D first
            // when alternating) or the next. Anything else means the group moved on without us.
            let expectedStep = networks.contains(.generator) ? step + 1 : step
            if Int(reply.step) != expectedStep || !expected.allSatisfy(received.contains) {
                throw ExchangeInterruption.resync(step: Int(reply.step))
            }
            return
        }
    }

    /// Packs `networks`' gradients into the lane (each network where it sits in the layout of
    /// both) or a payload, and sends them with the step's losses.
    private func send(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws {
        guard let model, let rank = assignment?.rank else { preconditionFailure("exchange before the first parameters") }
        var gradients = Gradients(step: Int64(step), phase: GANNetwork.phase(networks), rank: Int32(rank),
                                  generatorLoss: metrics.generatorLoss, discriminatorLoss: metrics.discriminatorLoss, values: [])
        if let segment = lane?.gradients, lane?.parameters != nil {
            model.packGradients(networks, into: segment.values + model.offsetInBoth(networks.first!))
            try connection.send(.sharedGradients(gradients))
        } else {
            let count = model.flatCount(networks)
            if buffer.count != count { buffer = [Float](repeating: 0, count: count) }
            buffer.withUnsafeMutableBufferPointer { model.packGradients(networks, into: $0.baseAddress!) }
            gradients.values = buffer
            try connection.send(.gradients(gradients))
        }
    }

    /// Counts the current step's waiting: the step completed.
    func commitWaiting() {
        waitingSeconds += pendingWaiting
        pendingWaiting = 0
    }

    /// Forgets the current step's waiting: the step was abandoned.
    func discardWaiting() { pendingWaiting = 0 }

    /// Whether a stopped worker leaves now: at once, unless it waits on the reply to gradients it
    /// sent (`replyingTo`) from a coordinator still connected, and then after `stopGrace`.
    private func leaving(replyingTo: Bool) -> Bool {
        guard stop.isStopped else { return false }
        guard replyingTo, connection.coordinatorConnected else { return true }
        let now = clock.now
        if stopSeen == nil { stopSeen = now }
        return now - stopSeen! >= Self.stopGrace
    }

    /// Waits for a parameters message, applies it, and returns it. A stop ends the wait
    /// (`CancellationError`) at once, or after `stopGrace` when it is for the reply to
    /// gradients this worker sent (`replyingTo`).
    @discardableResult
    func awaitParameters(replyingTo: Bool = false) throws -> Parameters {
        while true {
            if leaving(replyingTo: replyingTo) { throw CancellationError() }
            switch try connection.receive(leaving: { leaving(replyingTo: replyingTo) }) {
            case .parameters(let p):
                guard let model else { continue }
                let networks = GANNetwork.networks(phase: p.phase)
                guard p.values.count == model.flatCount(networks) else {
                    connection.log("worker: parameters with \(p.values.count) values for a model of \(model.flatCount(networks)); dropped")
                    continue
                }
                p.values.withUnsafeBufferPointer { model.unpackParameters(networks, from: $0.baseAddress!) }
                return assign(p)
            case .sharedParameters(let p, let sequence):
                guard let model, let segment = lane?.parameters else { continue }
                // The segment holds both networks, each as its part; only a rewrite of the part
                // read overtakes a read (as when this worker lagged a whole step behind).
                let networks: [GANNetwork] = readBothNext ? [.generator, .discriminator] : GANNetwork.networks(phase: p.phase)
                let whole = networks.allSatisfy { network in
                    segment.read(part: network.part, atSequence: sequence) { model.unpackParameters([network], from: $0 + model.offsetInBoth(network)) }
                }
                guard whole else {
                    readBothNext = true   // newer parameters follow: read both from them
                    continue
                }
                readBothNext = false
                var read = p
                read.phase = GANNetwork.phase(networks)   // both, after a read that was overtaken
                return assign(read)
            case .sharedMemoryAnswer(let answer):
                take(answer)
                continue
            case .complete(let c):
                throw ExchangeInterruption.complete(step: Int(c.step))
            case .rejoined:
                offerSharedMemory()   // a new connection (perhaps a new coordinator): a new lane
                continue   // after a rejoin, the coordinator sends full parameters: wait for them
            case .other:
                continue
            }
        }
    }

    /// Records where a parameters message puts this worker, and returns the message.
    private func assign(_ p: Parameters) -> Parameters {
        assignment = Assignment(step: Int(p.step), rank: Int(p.rank), world: Int(p.world),
                                epoch: Int(p.epoch), epochStart: Int(p.epochStart))
        return p
    }
}
