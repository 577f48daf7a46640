// A run's one timeline across restarts: every start of the coordinator is a generation that
// resumed after some step, and what earlier generations stored past that step is superseded,
// kept in the store but left out of charts, exports and TensorBoard files (as TensorBoard
// purges on restart, without deleting anything).

import CSQLite3

/// One start of a source, as the store knows it.
public struct IncarnationInfo: Sendable, Equatable {
    public var worker: String
    public var incarnation: Int64
    /// The run generation it trained in (0: outside a coordinator's run, never superseded).
    public var generation: Int64
    /// Its host and process id, from its `.worker` event; nil before one arrives.
    public var host: String?
    public var pid: Int32?
    /// The smallest and largest wall time of its stored events: when it started and ended.
    public var firstSeen: Double
    public var lastSeen: Double
}

/// One start of the coordinator on the run folder.
public struct GenerationInfo: Sendable, Equatable {
    /// 1 for the first start, one more at each.
    public var generation: Int64
    /// The step it resumed after (0: from the beginning).
    public var resumedFrom: Int64
    /// When the coordinator announced it.
    public var wallTime: Double
    /// The run's settings, Agon's version and the host, as a JSON object.
    public var settings: String
}

/// Which stored values are on the run's current timeline.
///
/// A value of an incarnation of generation `g` at step `s` is current when no later generation
/// resumed before it: `s ≤ min { resumedFrom(h) : h > g }`. Generation 0 is always current.
public struct Timeline: Sendable {
    /// Per incarnation, the last step of its values that are current (absent: all of them).
    private var cutoff: [SourceIncarnation: Int64]
    private var last: (key: SourceIncarnation, cutoff: Int64?)?

    init(generations: [GenerationInfo], incarnations: [IncarnationInfo]) {
        var map: [SourceIncarnation: Int64] = [:]
        for i in incarnations where i.generation > 0 {
            // Also right for a generation whose announcement has not arrived yet.
            if let bound = generations.filter({ $0.generation > i.generation }).map(\.resumedFrom).min() {
                map[SourceIncarnation(worker: i.worker, incarnation: i.incarnation)] = bound
            }
        }
        cutoff = map
    }

    /// Whether the value of `worker`'s `incarnation` at `step` is on the current timeline.
    public mutating func isCurrent(worker: String, incarnation: Int64, step: Int64) -> Bool {
        if cutoff.isEmpty { return true }
        if let last, last.key.incarnation == incarnation, last.key.worker == worker {
            return last.cutoff.map { step <= $0 } ?? true
        }
        let key = SourceIncarnation(worker: worker, incarnation: incarnation)
        let bound = cutoff[key]
        last = (key, bound)
        return bound.map { step <= $0 } ?? true
    }
}

extension RunStore {
    /// Every incarnation of every source, by source, then incarnation.
    public func incarnations() throws(RunStoreError) -> [IncarnationInfo] {
        try rows(statements.incarnations, doing: "reading incarnations") { row in
            IncarnationInfo(worker: row.string(0), incarnation: row.int64(1), generation: row.int64(2),
                            host: row.isNull(3) ? nil : row.string(3), pid: row.isNull(4) ? nil : Int32(truncatingIfNeeded: row.int64(4)),
                            firstSeen: row.isNull(5) ? .nan : row.double(5), lastSeen: row.isNull(6) ? .nan : row.double(6))
        }
    }

    /// Every generation of the run the coordinator announced, in order.
    public func generations() throws(RunStoreError) -> [GenerationInfo] {
        try rows(statements.generations, doing: "reading generations") { row in
            GenerationInfo(generation: row.int64(0), resumedFrom: row.int64(1), wallTime: row.isNull(2) ? .nan : row.double(2),
                           settings: row.string(3))
        }
    }

    /// The current timeline, from the generations and incarnations stored now.
    public func timeline() throws(RunStoreError) -> Timeline {
        Timeline(generations: try generations(), incarnations: try incarnations())
    }
}
