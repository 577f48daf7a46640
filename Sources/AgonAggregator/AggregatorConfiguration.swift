// What an aggregator is told: where to listen, the run folder, how often to draw, and its
// CURVE keys.

/// The settings of `agon aggregator`.
public struct AggregatorConfiguration: Sendable {
    /// The ZeroMQ endpoint to bind (`tcp://0.0.0.0:5556`, `tcp://127.0.0.1:*`).
    public var bind: String
    /// The run folder: run.db, plots/, samples/, tensorboard/.
    public var runDirectory: String
    /// Seconds between renderings of the plots while events arrive.
    public var renderInterval: Double = 5
    /// The aggregator's CURVE secret key (Z85); nil takes events in clear text from anyone.
    public var curveSecretKey: String?
    /// The public keys (Z85) of the sources to admit when CURVE is on.
    public var authorizedKeys: [String] = []

    public init(bind: String, runDirectory: String) {
        self.bind = bind
        self.runDirectory = runDirectory
    }
}
