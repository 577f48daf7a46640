// A monitor rebuilt from run.db: what a restarted aggregator starts from, so that it goes on
// watching where the last one stopped and raises nothing it already raised.
import AgonRunStore

extension HealthMonitor {
    /// The per-step tags some detector reads; a rebuild reads only these (and `quality/*`).
    static let watchedTags = ["g_loss", "d_loss", "d_real_loss", "d_fake_loss", "acc_real", "acc_fake", "d_x", "d_g_z",
                              "g_grad_norm", "d_grad_norm"]

    /// A monitor that has seen every event in `store`, in step order across sources (as live
    /// intake sees them, up to how batches interleave), with the alarms already stored (source
    /// ``source``) known and not raised again.
    ///
    /// It reads each watched series with the store's indexed range read (numbers only, about
    /// 24 bytes a value) rather than whole events, so a run of a million steps rebuilds in
    /// memory proportional to its watched values, not to its tag strings; and every sample grid.
    ///
    /// Values at a step outside ``EventLimits/steps`` and images outside its limits (which an
    /// older build stored unchecked) are skipped and counted, not observed.
    ///
    /// - Returns: the monitor; the changes the replay found that the store lacks (alarms a
    ///   killed aggregator had not stored yet, to store now); and how many values and images
    ///   were skipped.
    public static func rebuilt(from store: RunStore) throws -> (monitor: HealthMonitor, missed: [HealthChange], skipped: Int) {
        let known = try store.alarms().filter { $0.worker == source }.map { HealthAlarm(name: $0.name, step: $0.step, message: $0.message) }
        var monitor = HealthMonitor(known: known)
        let tags = try store.tags().filter { watchedTags.contains($0) || $0.hasPrefix(qualityPrefix) }
        let sources = try store.workers().filter { $0 != source }
        var cursors: [SeriesCursor] = []
        var skipped = 0
        for (index, worker) in sources.enumerated() {
            for tag in tags {
                let series = try store.scalars(tag: tag, worker: worker)
                let kept = series.steps.indices.filter { EventLimits.steps.contains(series.steps[$0]) }
                skipped += series.steps.count - kept.count
                if !kept.isEmpty {
                    cursors.append(SeriesCursor(source: index, tag: tag, steps: kept.map { series.steps[$0] }, values: kept.map { series.values[$0] }))
                }
            }
        }
        let allGrids = try store.images(tag: "samples")
        let grids = allGrids.filter { EventLimits.steps.contains($0.step) && EventLimits.imageProblem(width: $0.width, height: $0.height, png: $0.png) == nil }
        skipped += allGrids.count - grids.count
        var gridIndex = 0
        var missed: [HealthChange] = []
        // One step at a time: each source's values of the step as one event, then the grids.
        while let step = cursors.compactMap(\.step).min() {
            var events: [Int: [ScalarValue]] = [:]
            for index in cursors.indices where cursors[index].step == step {
                while cursors[index].step == step {
                    events[cursors[index].source, default: []].append(ScalarValue(tag: cursors[index].tag, value: cursors[index].value))
                    cursors[index].position += 1
                }
            }
            while gridIndex < grids.count && grids[gridIndex].step < step {
                missed += monitor.observe(grid: grids[gridIndex])
                gridIndex += 1
            }
            for (index, values) in events.sorted(by: { $0.key < $1.key }) {
                missed += monitor.observe(source: sources[index], step: step, payload: .scalars(values))
            }
        }
        for grid in grids[gridIndex...] { missed += monitor.observe(grid: grid) }
        return (monitor, missed.filter { if case .raised = $0 { true } else { false } }, skipped)
    }

    private mutating func observe(grid: StoredImage) -> [HealthChange] {
        observe(source: grid.worker, step: grid.step, payload: .image(tag: "samples", width: grid.width, height: grid.height, png: grid.png))
    }
}

/// A position in one source's series of one tag, read in step order.
private struct SeriesCursor {
    let source: Int
    let tag: String
    let steps: [Int64]
    let values: [Double]
    var position = 0

    /// The step at the position, nil past the end.
    var step: Int64? { position < steps.count ? steps[position] : nil }
    var value: Double { values[position] }
}
