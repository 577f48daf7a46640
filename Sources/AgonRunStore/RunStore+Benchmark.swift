// How fast the store takes a worker's metrics: batches of scalar events, as the aggregator
// writes them, timed over the appends alone. `agon bench` calls it.

extension RunStore {
    /// Appends `scalars` scalar values to the store at `path`, in `append` calls of `batch`
    /// values each (eight tags per event, as a training step sends), and returns values/s.
    ///
    /// Only the appends are timed, not building the events. The events go to a worker named
    /// `bench`, continuing from its first gap, so running it again on the same file adds rows.
    public static func benchmarkAppend(path: String, scalars: Int, batch: Int,
                                       durability: Durability = .process) throws(RunStoreError) -> Double {
        precondition(scalars > 0 && batch > 0, "benchmarkAppend: scalars (\(scalars)) and batch (\(batch)) must be > 0")
        let store = try RunStore(path: path, durability: durability)
        let tags = ["d_loss", "g_loss", "acc_real", "acc_fake", "d_x", "d_g_z", "grad_norm_d", "grad_norm_g"]
        var seq = try store.nextSequence(worker: "bench")
        var remaining = scalars
        var elapsed = Duration.zero
        let clock = ContinuousClock()
        while remaining > 0 {
            var events: [RunEvent] = []
            var inBatch = min(batch, remaining)
            remaining -= inBatch
            while inBatch > 0 {
                let count = min(tags.count, inBatch)
                inBatch -= count
                let values = (0..<count).map { ScalarValue(tag: tags[$0], value: Double(seq) * 0.001 + Double($0)) }
                events.append(RunEvent(worker: "bench", seq: seq, step: seq, wallTime: 1_700_000_000 + Double(seq) * 0.01,
                                       payload: .scalars(values)))
                seq += 1
            }
            let start = clock.now
            try store.append(events)
            elapsed += clock.now - start
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Double(scalars) / max(seconds, 1e-9)
    }
}
