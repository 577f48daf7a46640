// Training messages: a worker's gradients (kind 4), the coordinator's parameters (5), and the
// end of the run (7). Each layout is written and read here; docs/PROTOCOL.md draws the bytes.

extension WireMessage {
    /// The networks a `gradients` or `parameters` message covers, as bits of its `phase` byte.
    public enum Phase {
        /// Bit 0: the generator.
        public static let generator: UInt8 = 0b01
        /// Bit 1: the discriminator.
        public static let discriminator: UInt8 = 0b10
        /// Both networks: a simultaneous step, or a full set of parameters.
        public static let both: UInt8 = 0b11

        /// Checks a phase byte read from the wire.
        static func validate(_ phase: UInt8, in context: String) throws(WireError) {
            guard phase & ~both == 0 else {
                throw WireError(.malformed, "\(context) header: phase 0x\(String(phase, radix: 16)) has bits other than generator (1) and discriminator (2)")
            }
        }
    }
}

/// Worker → coordinator, kind 4: the gradients of one step.
///
/// Header: version, kind 4, `step` (Int64), `phase` (UInt8), `rank` (Int32),
/// `generatorLoss` (Float32), `discriminatorLoss` (Float32).
/// Payload: `values` as little-endian Float32, in the order of the named parameters of the
/// networks in `phase` (generator first).
public struct Gradients: Equatable, Sendable {
    /// The step these gradients are for.
    public var step: Int64
    /// The networks covered: bits of `WireMessage.Phase`.
    public var phase: UInt8
    /// The sender's rank in this step.
    public var rank: Int32
    /// The sender's generator loss in this step, for the coordinator's progress and divergence
    /// checks.
    public var generatorLoss: Float
    /// The sender's discriminator loss in this step.
    public var discriminatorLoss: Float
    /// The gradient values, flattened.
    public var values: [Float]

    /// Gradients of `rank` for `step`, covering the networks in `phase`, with the step's losses.
    public init(step: Int64, phase: UInt8, rank: Int32, generatorLoss: Float, discriminatorLoss: Float, values: [Float]) {
        precondition(phase & ~WireMessage.Phase.both == 0, "phase \(phase) has bits other than generator (1) and discriminator (2)")
        self.step = step
        self.phase = phase
        self.rank = rank
        self.generatorLoss = generatorLoss
        self.discriminatorLoss = discriminatorLoss
        self.values = values
    }

    func encode(into writer: inout WireWriter) {
        writer.write(step)
        writer.write(phase)
        writer.write(rank)
        writer.write(generatorLoss)
        writer.write(discriminatorLoss)
    }

    init(reading reader: inout WireReader, payload: [UInt8]) throws(WireError) {
        step = try reader.readInt64("step")
        phase = try reader.readUInt8("phase")
        try WireMessage.Phase.validate(phase, in: reader.context)
        rank = try reader.readInt32("rank")
        generatorLoss = try reader.readFloat("generatorLoss")
        discriminatorLoss = try reader.readFloat("discriminatorLoss")
        values = WireReader.floats(fromLittleEndian: payload)
    }
}

/// Coordinator → worker, kind 5: the parameters after a step, and the receiver's rank and
/// the world size for the next step (membership can change between steps).
///
/// Header: version, kind 5, `step` (Int64), `phase` (UInt8), `rank` (Int32), `world` (Int32),
/// `epoch` (Int64), `epochStart` (Int64).
/// Payload: `values` as little-endian Float32, in the order of the named parameters of the
/// networks in `phase` (generator first).
public struct Parameters: Equatable, Sendable {
    /// The coordinator's step count: the parameters hold the updates of steps 0 ..< `step`,
    /// and the next step to run is `step`. (In an alternating update, the discriminator's half
    /// of step s comes back with `step` s and phase `discriminator`.)
    public var step: Int64
    /// The networks covered: bits of `WireMessage.Phase`.
    public var phase: UInt8
    /// The receiver's rank for the next step.
    public var rank: Int32
    /// The number of workers in the next step.
    public var world: Int32
    /// The data epoch the next step belongs to (0 first).
    public var epoch: Int64
    /// The step at which `epoch` began: the data of an epoch is sharded among the `world`
    /// workers from this step on, so a worker finds its place in its shard from it.
    public var epochStart: Int64
    /// The parameter values, flattened.
    public var values: [Float]

    /// Parameters at step count `step` for the networks in `phase`, with the receiver's next
    /// `rank` and `world` and the data epoch the next step is in.
    public init(step: Int64, phase: UInt8, rank: Int32, world: Int32, epoch: Int64, epochStart: Int64, values: [Float]) {
        precondition(phase & ~WireMessage.Phase.both == 0, "phase \(phase) has bits other than generator (1) and discriminator (2)")
        self.step = step
        self.phase = phase
        self.rank = rank
        self.world = world
        self.epoch = epoch
        self.epochStart = epochStart
        self.values = values
    }

    func encode(into writer: inout WireWriter) {
        writer.write(step)
        writer.write(phase)
        writer.write(rank)
        writer.write(world)
        writer.write(epoch)
        writer.write(epochStart)
    }

    init(reading reader: inout WireReader, payload: [UInt8]) throws(WireError) {
        step = try reader.readInt64("step")
        phase = try reader.readUInt8("phase")
        try WireMessage.Phase.validate(phase, in: reader.context)
        rank = try reader.readInt32("rank")
        world = try reader.readInt32("world")
        epoch = try reader.readInt64("epoch")
        epochStart = try reader.readInt64("epochStart")
        values = WireReader.floats(fromLittleEndian: payload)
    }
}

/// Coordinator → worker, kind 7: the run is over; the worker stops and exits cleanly.
///
/// Header: version, kind 7, `step` (Int64).
public struct Complete: Equatable, Sendable {
    /// The step count when the run ended: steps 0 ..< `step` have run, and no more will.
    public var step: Int64

    /// The end of a run whose last step is `step`.
    public init(step: Int64) {
        self.step = step
    }

    func encode(into writer: inout WireWriter) {
        writer.write(step)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        step = try reader.readInt64("step")
    }
}
