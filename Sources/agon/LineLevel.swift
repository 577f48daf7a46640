// The level of each line the roles print, read from its words. The library targets log plain
// lines through a `log:` closure and know nothing of levels (low targets know no logging), so
// the one place that decides what is a warning is this table, beside the handler.
import Logging

/// The level of a line, decided by the first rule whose words it contains.
enum LineLevel {
    /// In order: the first rule that matches decides. A line no rule matches is `info`.
    static let rules: [(level: Logger.Level, words: [String])] = [
        // Chatter of every step: a straggler's gradients. (A quality measurement skipped because
        // the last one still runs is info: it happens at most once per --quality-every steps, and
        // says why a measurement is missing from the charts.)
        (.debug, ["late or stale gradients"]),
        // Something failed and output is lost or held back; a peer or an input refused.
        (.error, ["Error:", "refused", " failed", "not finite", "are lost", "events not delivered", "no longer holds events",
                  "cannot store", "aggregator: TensorBoard ", "sample grid after step", "not measured:"]),
        // Unexpected, and worked around: a dropped malformed message, a missing peer, a fallback.
        (.warning, ["warning:", "dropped", "cannot", "no gradients from rank", "no heartbeat from", "are off", "did not finish within",
                    "shrank", "went on without it", "skipped", "no shared-memory lane", "not yet acknowledged"]),
    ]

    /// The level of `line`.
    static func of(_ line: String) -> Logger.Level {
        for rule in rules where rule.words.contains(where: line.contains) { return rule.level }
        return .info
    }
}
