// What one GAN step reports: both losses and their parts, D's accuracy and outputs on real
// and generated data, gradient norms and time.

/// The metrics of one training step on one worker.
public struct StepMetrics: Sendable, Equatable {
    public var step: Int
    /// G's loss, `L(D(G(z)), real)`.
    public var generatorLoss: Float
    /// D's loss, the sum of its two parts.
    public var discriminatorLoss: Float
    public var discriminatorRealLoss: Float
    public var discriminatorFakeLoss: Float
    /// Share of real samples D calls real.
    public var accuracyReal: Float
    /// Share of generated samples D calls fake.
    public var accuracyFake: Float
    /// Mean D(x): D's belief that real samples are real.
    public var meanRealScore: Float
    /// Mean D(G(z)): D's belief that generated samples are real.
    public var meanFakeScore: Float
    public var generatorGradientNorm: Float
    public var discriminatorGradientNorm: Float
    /// Wall time of the step, seconds.
    public var seconds: Double
    /// Samples in the step's batch on this worker.
    public var samples: Int

    public init(step: Int = 0) {
        self.step = step
        generatorLoss = 0; discriminatorLoss = 0; discriminatorRealLoss = 0; discriminatorFakeLoss = 0
        accuracyReal = 0; accuracyFake = 0; meanRealScore = 0; meanFakeScore = 0
        generatorGradientNorm = 0; discriminatorGradientNorm = 0; seconds = 0; samples = 0
    }

    /// Names and values in a fixed order: the tags every sink (CSV, events) uses.
    public var namedValues: [(tag: String, value: Double)] {
        [("g_loss", Double(generatorLoss)), ("d_loss", Double(discriminatorLoss)),
         ("d_real_loss", Double(discriminatorRealLoss)), ("d_fake_loss", Double(discriminatorFakeLoss)),
         ("acc_real", Double(accuracyReal)), ("acc_fake", Double(accuracyFake)),
         ("d_x", Double(meanRealScore)), ("d_g_z", Double(meanFakeScore)),
         ("g_grad_norm", Double(generatorGradientNorm)), ("d_grad_norm", Double(discriminatorGradientNorm)),
         ("step_time_s", seconds), ("samples_per_s", seconds > 0 ? Double(samples) / seconds : 0)]
    }
}
