// One GAN training step: G and D forward, the three loss terms, both backward passes, and the
// update through the `ParameterUpdate` seam, simultaneous or alternating.
import AgonNN
import AgonTensor

/// How the two networks are updated within a step.
public enum UpdateMode: String, Sendable, CaseIterable, Codable {
    /// Both gradients from one forward pass, then both updates: the classic TensorFlow loop.
    case simultaneous
    /// D's update first; then G's gradient through the updated D (the PyTorch DCGAN loop).
    case alternating
}

/// Runs training steps of a `GANModel`.
///
/// D runs twice per step (on real and on generated data) through two replicas that share its
/// parameters, so each pass keeps its own activations for its backward pass, and the two
/// passes add into one gradient, as TensorFlow's tape does.
public final class GANStep {
    public let model: GANModel
    public let mode: UpdateMode
    public let update: ParameterUpdate
    /// For testing alarms: at this step (0-based, as `ForwardContext.step`), G's loss and
    /// gradients are set to NaN before the update, so the NaN reaches the optimizer (or the
    /// coordinator's average) and the step's metrics.
    public var injectNaNAt: Int?
    private let discriminatorOnFake: Sequential
    /// dLoss/dD(·) for the three terms, per batch size.
    private let gradients = BatchCache<(real: Tensor, fake: Tensor, generator: Tensor)>()

    /// The last step's generated images, D's outputs on real and on generated data.
    public private(set) var lastFake: Tensor?
    public private(set) var lastRealOutput: Tensor?
    public private(set) var lastFakeOutput: Tensor?
    /// D's pass on a coming step's real batch, run ahead by `prepareRealPass` while a
    /// distributed update waits for G's parameters: its output and loss, with D's gradient of
    /// that loss already in D's parameters.
    private var prepared: (step: Int, firstSample: Int, output: Tensor, loss: Float)?

    public init(model: GANModel, update: ParameterUpdate, mode: UpdateMode = .simultaneous) {
        self.model = model
        self.update = update
        self.mode = mode
        discriminatorOnFake = model.discriminator.replica()
    }

    /// One step on latent batch `z` (B, latent) and real batch `x` (B, 28, 28, 1).
    ///
    /// - Parameter context: training context; `step` and `firstSample` seed Dropout.
    public func callAsFunction(z: Tensor, x: Tensor, context: ForwardContext) throws -> StepMetrics {
        precondition(z.rows == x.rows, "latent batch \(z.shape) and image batch \(x.shape) differ in size")
        let clock = ContinuousClock()
        let start = clock.now
        let batch = x.rows
        let g = lossGradients(batch)
        let G = model.generator, D = model.discriminator, loss = model.loss
        var metrics = StepMetrics(step: context.step)

        // Passes: 0 G, 1 D on real, 2 D on generated, 3 D again after its update (alternating).
        // D's real pass depends on neither G nor the noise, so it may have run ahead; either
        // way its gradient is in D's parameters before the generated pass adds to it.
        let real = takePrepared(step: context.step, firstSample: context.firstSample, batch: batch) ?? realPass(x, context: context)
        let realOut = real.output
        let fake = G.forward(z, context: context.pass(0))
        var fakeOut = discriminatorOnFake.forward(fake, context: context.pass(2))
        summarize(real: realOut, fake: fakeOut, into: &metrics)

        metrics.discriminatorRealLoss = real.loss
        metrics.discriminatorFakeLoss = loss.evaluate(fakeOut.pointer, count: batch, term: .discriminatorFake, gradient: g.fake.pointer)
        metrics.discriminatorLoss = metrics.discriminatorRealLoss + metrics.discriminatorFakeLoss
        discriminatorOnFake.backward(g.fake, parameterGradients: true, inputGradient: false)
        metrics.discriminatorGradientNorm = D.gradientNorm()

        if mode == .simultaneous {
            try update.gradientsReady([.discriminator], step: context.step, metrics: metrics)
        }
        if mode == .alternating {
            try update.apply([.discriminator], step: context.step, metrics: metrics)
            fakeOut = discriminatorOnFake.forward(fake, context: context.pass(3))
        }
        metrics.generatorLoss = loss.evaluate(fakeOut.pointer, count: batch, term: .generator, gradient: g.generator.pointer)
        let fakeGradient = discriminatorOnFake.backward(g.generator, parameterGradients: false, inputGradient: true)!
        G.zeroGradients()
        G.backward(fakeGradient, parameterGradients: true, inputGradient: false)
        if context.step == injectNaNAt {
            metrics.generatorLoss = .nan
            for parameter in G.trainableParameters {
                parameter.gradient!.pointer.update(repeating: .nan, count: parameter.gradient!.count)
            }
        }
        metrics.generatorGradientNorm = G.gradientNorm()
        try update.apply(mode == .alternating ? [.generator] : [.generator, .discriminator], step: context.step, metrics: metrics)

        lastFake = fake
        // A copy: D's output buffer may already hold the next step's real pass, run ahead.
        lastRealOutput = Tensor(shape: realOut.shape, values: realOut.scalars)
        lastFakeOutput = fakeOut
        metrics.seconds = (clock.now - start).seconds
        metrics.samples = batch
        return metrics
    }

    /// Runs D's pass on the real batch `x` of the step `context` describes, ahead of that step:
    /// D must already hold that step's parameters, and its gradients of the current step must
    /// be sent, since this pass starts D's gradients anew. The step uses it if it is the one
    /// `context` names; `discardPreparedRealPass` drops it when `x` turns out to be another batch.
    public func prepareRealPass(x: Tensor, context: ForwardContext) {
        prepared = nil
        let real = realPass(x, context: context)
        prepared = (context.step, context.firstSample, real.output, real.loss)
    }

    /// Forgets a real pass run ahead (the worker's shard or step changed before it was used).
    public func discardPreparedRealPass() { prepared = nil }

    private func takePrepared(step: Int, firstSample: Int, batch: Int) -> (output: Tensor, loss: Float)? {
        defer { prepared = nil }
        guard let p = prepared, p.step == step, p.firstSample == firstSample, p.output.rows == batch else { return nil }
        return (p.output, p.loss)
    }

    /// D on real data: its output, the loss term, and (from zero) D's gradient of that term.
    private func realPass(_ x: Tensor, context: ForwardContext) -> (output: Tensor, loss: Float) {
        let batch = x.rows
        let g = lossGradients(batch)
        let output = model.discriminator.forward(x, context: context.pass(1))
        let loss = model.loss.evaluate(output.pointer, count: batch, term: .discriminatorReal, gradient: g.real.pointer)
        model.discriminator.zeroGradients()
        model.discriminator.backward(g.real, parameterGradients: true, inputGradient: false)
        return (output, loss)
    }

    /// The buffers of dLoss/dD(·) for batch size `batch`.
    private func lossGradients(_ batch: Int) -> (real: Tensor, fake: Tensor, generator: Tensor) {
        gradients.get(batch) { (Tensor(zeros: [batch, 1]), Tensor(zeros: [batch, 1]), Tensor(zeros: [batch, 1])) }
    }

    private func summarize(real: Tensor, fake: Tensor, into metrics: inout StepMetrics) {
        let loss = model.loss, n = Float(real.count)
        var accReal: Float = 0, accFake: Float = 0, dx: Float = 0, dgz: Float = 0
        for i in 0..<real.count {
            let r = loss.realness(real[i]), f = loss.realness(fake[i])
            dx += r; dgz += f
            if r > loss.threshold { accReal += 1 }
            if f < loss.threshold { accFake += 1 }
        }
        metrics.accuracyReal = accReal / n
        metrics.accuracyFake = accFake / n
        metrics.meanRealScore = dx / n
        metrics.meanFakeScore = dgz / n
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
