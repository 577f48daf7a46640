// Rate-limited lines about dropped messages, for every role that reads from peers it does not
// trust: a peer sending garbage must not flood the log (or fill the disk under it).

/// Decides which "dropped a message" lines to log: at most `limit` in each `window`, then one
/// line, when the next window opens, counting those left out.
public struct DropLog: Sendable {
    /// The most lines logged in one window.
    public let limit: Int
    /// How long a window lasts.
    public let window: Duration
    /// What each line starts with: `"coordinator: "`, `"aggregator: "`.
    public let prefix: String
    private var start: ContinuousClock.Instant?
    private var logged = 0
    /// Drops not logged in the current window.
    public private(set) var suppressed = 0

    /// A log of drops whose lines start with `prefix`, at most `limit` lines per `window`.
    public init(prefix: String, limit: Int = 100, window: Duration = .seconds(10)) {
        precondition(limit >= 1, "a drop log logs at least 1 line a window, got \(limit)")
        self.prefix = prefix
        self.limit = limit
        self.window = window
    }

    /// The lines to log for one more drop described by `line` at `now`: `line` itself while
    /// the window has room, nothing once it is full, and first, when a new window opens after
    /// a full one, how many drops the last one left out.
    public mutating func record(_ line: String, now: ContinuousClock.Instant = .now) -> [String] {
        var lines: [String] = []
        if start == nil || now - start! >= window {
            if suppressed > 0 { lines.append("\(prefix)\(suppressed) more dropped messages were not logged") }
            (start, logged, suppressed) = (now, 0, 0)
        }
        guard logged < limit else {
            suppressed += 1
            return lines
        }
        logged += 1
        return lines + [prefix + line]
    }
}
