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

    init(connection: CoordinatorConnection, stop: StopFlag) {
        self.connection = connection
        self.stop = stop
    }

    func apply(_ networks: [GANNetwork], step: Int, metrics: StepMetrics) throws {
        guard let model, let rank = assignment?.rank else { preconditionFailure("exchange before the first parameters") }
        let count = model.flatCount(networks)
        if buffer.count != count { buffer = [Float](repeating: 0, count: count) }
        buffer.withUnsafeMutableBufferPointer { model.packGradients(networks, into: $0.baseAddress!) }
        let phase = GANNetwork.phase(networks)
        let start = clock.now
        defer { pendingWaiting += (clock.now - start).seconds }
        try connection.send(.gradients(Gradients(step: Int64(step), phase: phase, rank: Int32(rank),
                                                 generatorLoss: metrics.generatorLoss, discriminatorLoss: metrics.discriminatorLoss,
                                                 values: buffer)))
        let reply = try awaitParameters()
        // The reply to this exchange: the networks just averaged, at this step (D first when
        // alternating) or the next. Anything else means the group moved on without us.
        let expectedStep = networks.contains(.generator) ? step + 1 : step
        if Int(reply.step) != expectedStep || reply.phase != phase { throw ExchangeInterruption.resync(step: Int(reply.step)) }
    }

    /// Counts the current step's waiting: the step completed.
    func commitWaiting() {
        waitingSeconds += pendingWaiting
        pendingWaiting = 0
    }

    /// Forgets the current step's waiting: the step was abandoned.
    func discardWaiting() { pendingWaiting = 0 }

    /// Waits for a parameters message, applies it, and returns it.
    @discardableResult
    func awaitParameters() throws -> Parameters {
        while true {
            if stop.isStopped { throw CancellationError() }
            switch try connection.receive() {
            case .parameters(let p):
                guard let model else { continue }
                let networks = GANNetwork.networks(phase: p.phase)
                guard p.values.count == model.flatCount(networks) else {
                    connection.log("worker: parameters with \(p.values.count) values for a model of \(model.flatCount(networks)); dropped")
                    continue
                }
                p.values.withUnsafeBufferPointer { model.unpackParameters(networks, from: $0.baseAddress!) }
                assignment = Assignment(step: Int(p.step), rank: Int(p.rank), world: Int(p.world),
                                        epoch: Int(p.epoch), epochStart: Int(p.epochStart))
                return p
            case .complete(let c):
                throw ExchangeInterruption.complete(step: Int(c.step))
            case .rejoined:
                continue   // after a rejoin, the coordinator sends full parameters: wait for them
            case .other:
                continue
            }
        }
    }
}
