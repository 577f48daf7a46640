// Writing events: one transaction per batch, duplicates recognised by (worker, seq) and ignored,
// nothing left behind by a batch that fails. Every row goes through a prepared statement.

import CSQLite3

extension RunStore {
    /// Stores a batch of events in one transaction and says which of them were new.
    ///
    /// An event whose `(worker, incarnation, seq)` is already stored, earlier or in this same batch, is
    /// ignored entirely (its payload is not compared) and reported `false`; a new one is stored
    /// with its payload and reported `true`. The worker's `first_seen`/`last_seen` widen to the
    /// wall times of its new events. A NaN value is stored as NULL and read back as NaN.
    ///
    /// When this returns, the batch is committed (see ``Durability``); when it throws, the
    /// transaction was rolled back and the store holds nothing of the batch: keep the events
    /// and retry.
    ///
    /// - Returns: one flag per event, in order: `true` if it was stored now.
    /// - Throws: ``RunStoreError`` with `.full`, `.readOnly`, `.busy`, `.io` or `.corrupt`.
    @discardableResult
    public func append(_ events: [RunEvent]) throws(RunStoreError) -> [Bool] {
        guard !events.isEmpty else { return [] }
        do { try statements.begin.run(db) } catch { throw self.error(error, doing: "appending \(events.count) events") }
        do {
            let stored = try insert(events)
            try statements.commit.run(db)
            return stored
        } catch {
            // SQLite may already have rolled back (on SQLITE_FULL or an I/O error); if not, do it.
            if sqlite3_get_autocommit(db) == 0 { try? statements.rollback.run(db) }
            throw self.error(error, doing: "appending \(events.count) events")
        }
    }

    /// The inserts of one batch, inside the caller's transaction.
    private func insert(_ events: [RunEvent]) throws(SQLiteFailure) -> [Bool] {
        var stored = [Bool]()
        stored.reserveCapacity(events.count)
        var seen = SeenTimes<String>()
        var incarnationSeen = SeenTimes<SourceIncarnation>()
        var generations: [SourceIncarnation: Int64] = [:]
        var lastKey: SourceIncarnation?
        var identities: [SourceIncarnation: (host: String, pid: Int32)] = [:]
        for event in events {
            if case .worker(let host, let pid, _) = event.payload {
                identities[SourceIncarnation(worker: event.worker, incarnation: event.incarnation)] = (host, pid)
            }
        }
        let insertEvent = statements.insertEvent
        for event in events {
            insertEvent.bind(1, event.worker)
            insertEvent.bind(2, event.seq)
            insertEvent.bind(3, Int64(event.payload.kind))
            insertEvent.bind(4, event.step)
            insertEvent.bind(5, event.wallTime)
            insertEvent.bind(6, event.incarnation)
            try insertEvent.run(db)
            let isNew = sqlite3_changes(db) > 0
            stored.append(isNew)
            guard isNew else { continue }
            try insertPayload(of: event)
            if case .refused = event.payload { continue }
            seen.add(event.worker, event.wallTime)
            let key = SourceIncarnation(worker: event.worker, incarnation: event.incarnation)
            incarnationSeen.add(key, event.wallTime)
            if key != lastKey { generations[key] = event.generation; lastKey = key }   // one per incarnation
        }
        for (key, span) in incarnationSeen.spans {
            let upsert = statements.upsertIncarnation
            upsert.bind(1, key.worker)
            upsert.bind(2, key.incarnation)
            upsert.bind(3, generations[key] ?? 0)
            if let first = span.first { upsert.bind(4, first) } else { upsert.bindNull(4) }
            if let last = span.last { upsert.bind(5, last) } else { upsert.bindNull(5) }
            try upsert.run(db)
        }
        for (key, identity) in identities {
            let update = statements.setIncarnationIdentity
            update.bind(1, key.worker)
            update.bind(2, key.incarnation)
            update.bind(3, identity.host)
            update.bind(4, Int64(identity.pid))
            try update.run(db)
        }
        for (worker, span) in seen.spans {
            let upsert = statements.upsertWorkerSeen
            upsert.bind(1, worker)
            if let first = span.first { upsert.bind(2, first) } else { upsert.bindNull(2) }
            if let last = span.last { upsert.bind(3, last) } else { upsert.bindNull(3) }
            try upsert.run(db)
        }
        return stored
    }

    /// The rows of a new event's payload.
    private func insertPayload(of event: RunEvent) throws(SQLiteFailure) {
        switch event.payload {
        case .scalars(let values):
            // The event's columns are bound once; each value rebinds only its tag and value.
            let insert = statements.insertScalar
            insert.bind(1, event.worker)
            insert.bind(2, event.seq)
            insert.bind(4, event.step)
            insert.bind(6, event.wallTime)
            insert.bind(8, event.incarnation)
            for (position, scalar) in values.enumerated() {
                insert.bind(3, scalar.tag)
                insert.bind(5, scalar: scalar.value)
                insert.bind(7, Int64(position))
                try insert.run(db)
            }
        case .image(let tag, let width, let height, let png):
            let insert = statements.insertImage
            insert.bind(1, event.worker)
            insert.bind(2, event.seq)
            insert.bind(3, tag)
            insert.bind(4, event.step)
            insert.bind(5, event.wallTime)
            insert.bind(6, Int64(width))
            insert.bind(7, Int64(height))
            insert.bind(8, blob: png)
            insert.bind(9, event.incarnation)
            try insert.run(db)
        case .worker(let host, let pid, let rank):
            let upsert = statements.upsertWorkerIdentity
            upsert.bind(1, event.worker)
            upsert.bind(2, host)
            upsert.bind(3, Int64(pid))
            upsert.bind(4, Int64(rank))
            upsert.bind(5, event.wallTime)
            try upsert.run(db)
        case .alarm(let name, let message):
            let insert = statements.insertAlarm
            insert.bind(1, event.worker)
            insert.bind(2, event.seq)
            insert.bind(3, name)
            insert.bind(4, event.step)
            insert.bind(5, event.wallTime)
            insert.bind(6, message)
            insert.bind(7, event.incarnation)
            try insert.run(db)
        case .generation(let number, let resumedFrom, let settings):
            let insert = statements.insertGeneration
            insert.bind(1, number)
            insert.bind(2, resumedFrom)
            insert.bind(3, event.wallTime)
            insert.bind(4, settings)
            try insert.run(db)
        case .refused(let reason):
            let insert = statements.insertRefused
            insert.bind(1, event.worker)
            insert.bind(2, event.incarnation)
            insert.bind(3, event.seq)
            insert.bind(4, reason)
            try insert.run(db)
        }
    }
}

/// The first and last finite wall time of each worker's (or incarnation's) new events in a
/// batch (nil: none).
private struct SeenTimes<Key: Hashable> {
    typealias Span = (first: Double?, last: Double?)
    private var done: [Key: Span] = [:]
    private var current: (worker: Key, span: Span)?

    /// Batches mostly hold one worker's events in a row: hash only when the worker changes.
    mutating func add(_ worker: Key, _ time: Double) {
        if let current, current.worker == worker {
            self.current = (worker, Self.widen(current.span, time))
            return
        }
        if let current { done[current.worker] = current.span }
        let earlier = done.removeValue(forKey: worker) ?? (nil, nil)
        current = (worker, Self.widen(earlier, time))
    }

    /// Every worker's span.
    var spans: [Key: Span] {
        var all = done
        if let current { all[current.worker] = current.span }
        return all
    }

    private static func widen(_ span: Span, _ time: Double) -> Span {
        guard time.isFinite else { return span }
        return (min(span.first ?? time, time), max(span.last ?? time, time))
    }
}
