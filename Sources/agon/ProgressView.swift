// The progress of a run, step by step: a bar on a terminal, a line at a steady interval
// otherwise (a log file, journald, a cluster's log collector, or --log-format json).
import Foundation

/// Draws the progress of a run: `agon run`'s from its coordinator's JSON lines, or a
/// coordinator's own when a person or a cluster engine started it.
final class ProgressView: @unchecked Sendable {
    private let interactive: Bool
    private let interval: Double
    private let prefix: String
    private let lock = NSLock()
    private var lastPrint = Date.distantPast
    /// The first step seen and when: the rate behind the ETA counts from there, not from the
    /// start of the process (which waited for its workers) nor from step 0 (a resumed run).
    private var origin: (step: Int, time: Date)?
    private var drawn = false
    private var completed = false

    /// A bar on a terminal when `interactive` (redrawn every 0.2 s), else a line every
    /// `interval` seconds, each starting with `prefix`.
    init(interactive: Bool, every interval: Double = 5, prefix: String = "") {
        self.interactive = interactive
        self.interval = interval
        self.prefix = prefix
    }

    /// Whether the coordinator has reported its last step.
    var isComplete: Bool { lock.withLock { completed } }

    /// One line of `agon coordinator --progress-json`.
    func update(_ line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let step = object["step"] as? Int, let total = object["total"] as? Int else { return }
        update(step: step, total: total, workers: object["workers"] as? Int ?? 0, samplesPerSecond: object["samples_per_s"] as? Double ?? 0,
               generatorLoss: object["g_loss"] as? Double ?? .nan, discriminatorLoss: object["d_loss"] as? Double ?? .nan)
    }

    /// Step `step` of `total` is done.
    func update(step: Int, total: Int, workers: Int, samplesPerSecond: Double, generatorLoss: Double, discriminatorLoss: Double) {
        lock.lock(); defer { lock.unlock() }
        if step >= total { completed = true }
        let now = Date()
        guard let origin else {
            // No rate yet: the first line comes one interval later (or at the last step).
            origin = (step, now)
            lastPrint = now
            if step >= total { draw(step: step, total: total, eta: 0, workers: workers, samplesPerSecond: samplesPerSecond,
                                     generatorLoss: generatorLoss, discriminatorLoss: discriminatorLoss) }
            return
        }
        guard now.timeIntervalSince(lastPrint) >= (interactive ? 0.2 : interval) || step == total else { return }
        lastPrint = now
        let stepsPerSecond = Double(step - origin.step) / max(now.timeIntervalSince(origin.time), 1e-3)
        draw(step: step, total: total, eta: Double(total - step) / max(stepsPerSecond, 1e-9), workers: workers,
              samplesPerSecond: samplesPerSecond, generatorLoss: generatorLoss, discriminatorLoss: discriminatorLoss)
    }

    /// Draws the bar or writes the line; called with `lock` held.
    private func draw(step: Int, total: Int, eta: Double, workers: Int, samplesPerSecond: Double,
                       generatorLoss: Double, discriminatorLoss: Double) {
        let text = String(format: "step %d/%d  %.0f samples/s  ETA %.0fs  G %.4f  D %.4f  workers %d", step, total, samplesPerSecond, eta,
                          generatorLoss, discriminatorLoss, workers)
        if interactive {
            let width = 24, filled = width * step / max(total, 1)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(prefix)[\(bar)] \(text)".utf8))
            drawn = true
        } else {
            logLine(prefix + text)
        }
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
