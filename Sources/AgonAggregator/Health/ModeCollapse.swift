// G covers only part of the data: its samples look real but come from few classes, recall
// falls while precision holds, or different noise gives near-identical samples.
import Foundation

/// Raised from two signals, whichever begins first:
///
/// - quality evaluations (`quality/*`, every M steps): precision at least ``precisionFloor``
///   (the samples look like data, so what follows is about coverage, not quality) while the
///   generated class histogram's normalized entropy (`quality/class_entropy`, H / ln C: 1 for
///   every class equally often, 0 for one class) is at most ``entropyFloor``, or has fallen by
///   ``entropyFall`` or more from its peak, or recall has fallen below ``recallFall`` of a peak
///   of at least ``recallPeak`` while precision stayed at least ``precisionHold`` of its value
///   there;
/// - sample grids on fixed noise: at least ``duplicateShare`` of the cells have a
///   near-duplicate (``SampleGridDuplicates``).
///
/// Each must hold on ``readings`` evaluations (or grids) in a row; the alarm began at the first
/// of them, and clears when neither holds.
///
/// Why these values, measured with the mlp GAN on Fashion-MNIST (2 workers, batch 16 to 64,
/// 300 samples per evaluation, six runs): in its first 6,000 steps a healthy G's samples go
/// from rough shapes the classifier puts in two or three classes to most of the ten, a
/// normalized entropy of 0.17 to 0.77 (never lower, rising with training) at a precision of
/// 0.56 to 1, while recall is still 0; a G trained on trousers only gives samples put in one
/// class from step 2,000 on (0 to 0.05), at a precision of 0.96 to 1. (Trained on T-shirts
/// only, its samples read as T-shirts and shirts, the pair the classifier confuses most, at
/// 0.25 to 0.43: from class entropy alone that is a G still learning.) The floor, 0.1, is 1.26
/// classes' worth of ten (`10^H`): one class, with strays. Early samples are noise, at a precision near
/// 0: the precision floor keeps them from counting as a collapse onto the classes noise is put
/// in. A fall of 0.3 from the peak, or recall halving from at least 0.1, is a G that covered
/// the data and stopped covering it.
struct ModeCollapse: HealthDetector {
    let name = "mode_collapse"
    /// The least precision at which samples count as looking like data.
    static let precisionFloor = 0.2
    /// The normalized class entropy at or below which the samples cover one class.
    static let entropyFloor = 0.1
    /// The fall from its peak at which the normalized class entropy counts as collapsing.
    static let entropyFall = 0.3
    /// The share of its peak below which recall counts as collapsing.
    static let recallFall = 0.5
    /// The least peak recall that a fall is measured from (below it, recall is noise).
    static let recallPeak = 0.1
    /// The share of its value at recall's peak that precision must keep for that to count.
    static let precisionHold = 0.8
    /// The least share of near-duplicated cells in a sample grid that counts.
    static let duplicateShare = 0.5
    /// Evaluations (or grids) in a row a signal must hold on.
    static let readings = 2

    private var peakEntropy: Double?
    private var peakRecall: (recall: Double, precision: Double)?
    private var quality = Streak()
    private var duplicates = Streak()

    /// Consecutive readings on which a signal held: the first one's step, how many, what was seen.
    private struct Streak {
        var first: Int64?
        var count = 0
        var message = ""

        mutating func record(_ holds: Bool, step: Int64, message: String) {
            if holds {
                first = first ?? step
                count += 1
                self.message = message
            } else {
                self = Streak()
            }
        }

        var began: Int64? { count >= ModeCollapse.readings ? first : nil }
    }

    mutating func observe(_ reading: QualityReading) -> HealthFinding {
        guard let precision = reading.values["precision"], precision.isFinite else { return .unknown }
        var seen: [String] = []
        if let entropy = reading.values["class_entropy"], entropy.isFinite {
            if precision >= Self.precisionFloor {
                if entropy <= Self.entropyFloor {
                    seen.append("the generated samples' normalized class entropy is \(formatted(entropy)) (1: every class equally often, 0: one class; alarm at ≤ \(formatted(Self.entropyFloor)))")
                } else if let peak = peakEntropy, peak - entropy >= Self.entropyFall {
                    seen.append("the normalized class entropy fell from \(formatted(peak)) to \(formatted(entropy))")
                }
                if let missing = reading.values["missing_classes"], missing > 0, !seen.isEmpty {
                    seen.append("\(Int(missing)) class(es) never generated")
                }
                peakEntropy = max(peakEntropy ?? entropy, entropy)
            }
        }
        if let recall = reading.values["recall"], recall.isFinite {
            if let peak = peakRecall, peak.recall >= Self.recallPeak, recall < Self.recallFall * peak.recall, precision >= Self.precisionHold * peak.precision,
               precision >= Self.precisionFloor {
                seen.append("recall fell from \(formatted(peak.recall)) to \(formatted(recall))")
            }
            if precision >= Self.precisionFloor && recall > (peakRecall?.recall ?? -1) { peakRecall = (recall, precision) }
        }
        quality.record(!seen.isEmpty, step: reading.step,
                       message: "at step \(reading.step), " + seen.joined(separator: ", ") + " while precision is \(formatted(precision))")
        return finding
    }

    mutating func observe(samples: SampleGridDuplicates, step: Int64) -> HealthFinding {
        let holds = samples.share >= Self.duplicateShare
        duplicates.record(holds, step: step, message: """
            at step \(step), \(samples.duplicated) of \(samples.cells) samples on fixed noise have a near-duplicate (median distance to the nearest \
            \(formatted(samples.medianNearest)); alarm at \(percent(Self.duplicateShare)))
            """)
        return finding
    }

    /// Present while either signal holds, as of its first reading; absent when neither does.
    private var finding: HealthFinding {
        let held = [quality, duplicates].filter { $0.began != nil }
        guard let began = held.compactMap(\.began).min() else { return .absent }
        return .present(began: began, message: held.map(\.message).joined(separator: "; ") + """
            : G covers only part of the data. Try a lower G learning rate, minibatch discrimination or feature matching, \
            a different loss (hinge, Wasserstein with gradient penalty), or restarting from an earlier checkpoint.
            """)
    }
}
