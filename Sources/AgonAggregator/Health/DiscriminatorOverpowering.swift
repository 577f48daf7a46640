// D wins outright: it tells real from generated almost perfectly and is almost sure every
// generated sample is fake, so G's gradient carries little it can use.

/// Raised when, over ``window`` completed steps, the cross-worker means of D's accuracy on
/// real and on generated data are both at least ``accuracy`` and the mean D(G(z)) is at most
/// ``fakeScore``. It began at the first step of the window from which each of the three had met
/// its threshold in a single step (the onset, not the window's start, which may precede it).
/// It clears once the window's D(G(z))
/// rises above ``clearFakeScore`` or its accuracy on generated data falls below
/// ``clearAccuracy``.
///
/// Why these values: in a healthy run D's accuracies often sit near 1 for long stretches (in
/// the 3,000-step mlp run on Fashion-MNIST, acc_fake is 1.0 from step 600 on), so accuracy
/// alone says nothing; what separates a D that overpowers G is how sure it is: in healthy runs
/// D(G(z)) settles at 0.15–0.25 (100-step means never under 0.14), against 0.004–0.03 when
/// D's learning rate is 50× G's. The bound 0.05 lies between, a factor of about 3 from each;
/// D(G(z)) ≤ 0.05 means G's loss −log D(G(z)) ≥ 3 on average. A window of 100 steps (a few seconds of
/// training) keeps a short excursion from raising it; the clearing thresholds lie well away
/// from the raising ones so that a run on the edge does not raise and clear it step by step.
struct DiscriminatorOverpowering: HealthDetector {
    let name = "discriminator_overpowering"
    /// Completed steps the means are taken over.
    static let window = 100
    /// The least mean accuracy on real and on generated data that counts as D winning.
    static let accuracy = 0.98
    /// The largest mean D(G(z)) that counts as D being sure.
    static let fakeScore = 0.05
    /// The mean D(G(z)) above which the alarm clears.
    static let clearFakeScore = 0.12
    /// The mean accuracy on generated data below which the alarm clears.
    static let clearAccuracy = 0.9

    private var real = SlidingMean(capacity: window)
    private var fake = SlidingMean(capacity: window)
    private var score = SlidingMean(capacity: window)

    mutating func observe(_ step: TrainingStep) -> HealthFinding {
        guard let accReal = step.mean("acc_real"), let accFake = step.mean("acc_fake"), let dgz = step.mean("d_g_z") else { return .unknown }
        real.add(accReal, step: step.step)
        fake.add(accFake, step: step.step)
        score.add(dgz, step: step.step)
        guard let r = real.mean, let f = fake.mean, let s = score.mean else { return .unknown }
        if r >= Self.accuracy && f >= Self.accuracy && s <= Self.fakeScore {
            let first = [real.firstStep { $0 >= Self.accuracy }, fake.firstStep { $0 >= Self.accuracy },
                         score.firstStep { $0 <= Self.fakeScore }].compactMap { $0 }.max() ?? step.step
            return .present(began: first, message: """
                over the \(Self.window) steps to \(step.step) (mean of \(step.workers.count) worker(s)), D was right on \(percent(r)) of real and \
                \(percent(f)) of generated samples and D(G(z)) averaged \(formatted(s)) (alarm at ≥ \(percent(Self.accuracy)) and \
                ≤ \(formatted(Self.fakeScore))), from step \(first) on: D wins outright and G learns little from it. Try a lower D learning rate \
                (--d-lr) or a higher G one (--lr), fewer D updates per G update, label smoothing or noise on D's inputs, \
                or dropout in D.
                """)
        }
        if s > Self.clearFakeScore || f < Self.clearAccuracy { return .absent }
        return .unknown
    }
}

/// A share as a percentage with one decimal.
func percent(_ share: Double) -> String {
    formatted(share * 100) + "%"
}
