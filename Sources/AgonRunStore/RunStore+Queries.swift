// Reading a run: what to resend, which series exist, a series as arrays, images, alarms,
// workers and metadata. Each query is one prepared statement, reset when done so that no read
// stays open and holds back the WAL checkpoint.

import CSQLite3

/// A stored image: the worker that sent it, its step, its size and its PNG bytes.
public typealias StoredImage = (worker: String, step: Int64, width: Int, height: Int, png: [UInt8])

extension RunStore {
    // MARK: Resending

    /// The smallest seq, counting from 0, that `worker`'s `incarnation` has no stored (or
    /// refused) event for: the first gap. The aggregator acknowledges everything below it and
    /// asks for a resend from it.
    ///
    /// Events are never deleted, so the first gap only grows: the store remembers it per
    /// incarnation and looks only at the events from there on, which keeps this cheap after
    /// every batch.
    public func nextSequence(worker: String, incarnation: Int64 = 0) throws(RunStoreError) -> Int64 {
        let key = SourceIncarnation(worker: worker, incarnation: incarnation)
        var next = knownPrefix[key] ?? 0
        do {
            let has = statements.hasEvent
            defer { has.reset() }
            has.bind(1, worker)
            has.bind(2, next)
            has.bind(3, incarnation)
            if try has.step(db) {
                let gap = statements.firstGapFrom
                defer { gap.reset() }
                gap.bind(1, worker)
                gap.bind(2, next)
                gap.bind(3, incarnation)
                if try gap.step(db) { next = gap.int64(0) }
            }
        } catch {
            throw self.error(error, doing: "finding the next sequence number of \(worker) (incarnation \(incarnation))")
        }
        knownPrefix[key] = next
        return next
    }

    /// How many events of `worker` are stored (of any kind, each counted once).
    public func storedCount(worker: String) throws(RunStoreError) -> Int {
        try single(statements.storedCount, doing: "counting the events of \(worker)") { $0.bind(1, worker) } ?? 0
    }

    // MARK: Series

    /// The scalar tags, sorted.
    public func tags() throws(RunStoreError) -> [String] {
        try rows(statements.tags, doing: "listing scalar tags") { $0.string(0) }
    }

    /// The image tags, sorted.
    public func imageTags() throws(RunStoreError) -> [String] {
        try rows(statements.imageTags, doing: "listing image tags") { $0.string(0) }
    }

    /// The workers that have stored events, sorted.
    public func workers() throws(RunStoreError) -> [String] {
        try rows(statements.workers, doing: "listing workers") { $0.string(0) }
    }

    /// The series `tag` of `worker`, ordered by step (a NaN was stored as NULL and comes back NaN).
    ///
    /// By default only the run's current timeline: values an earlier generation stored past the
    /// step a later one resumed from are left out (`includeSuperseded` keeps them).
    /// One indexed range read straight into three arrays, for series of millions of points.
    public func scalars(tag: String, worker: String, includeSuperseded: Bool = false) throws(RunStoreError)
        -> (steps: [Int64], values: [Double], wallTimes: [Double]) {
        var current = includeSuperseded ? nil : try timeline()
        let query = statements.scalars
        defer { query.reset() }
        query.bind(1, tag)
        query.bind(2, worker)
        var steps: [Int64] = [], values: [Double] = [], wallTimes: [Double] = []
        steps.reserveCapacity(1024)
        values.reserveCapacity(1024)
        wallTimes.reserveCapacity(1024)
        do {
            while try query.step(db) {
                if current != nil, !current!.isCurrent(worker: worker, incarnation: query.int64(3), step: query.int64(0)) { continue }
                steps.append(query.int64(0))
                values.append(query.scalarValue(1))
                wallTimes.append(query.isNull(2) ? .nan : query.double(2))
            }
        } catch {
            throw self.error(error, doing: "reading series \(tag) of \(worker)")
        }
        return (steps, values, wallTimes)
    }

    /// How many scalar values are stored, over all tags and workers.
    public func scalarCount() throws(RunStoreError) -> Int {
        try single(statements.scalarCount, doing: "counting scalars") { _ in } ?? 0
    }

    // MARK: Images, alarms, workers

    /// The images of `tag` (every tag when nil), ordered by step, then worker; by default only
    /// those of the current timeline (see ``scalars(tag:worker:includeSuperseded:)``).
    public func images(tag: String?, includeSuperseded: Bool = false) throws(RunStoreError) -> [StoredImage] {
        var current = includeSuperseded ? nil : try timeline()
        let query = tag == nil ? statements.allImages : statements.imagesOfTag
        if let tag { query.bind(1, tag) }
        let all = try rows(query, doing: "reading images\(tag.map { " of \($0)" } ?? "")") { row in (Self.image(row), row.int64(5)) }
        guard current != nil else { return all.map(\.0) }
        return all.filter { current!.isCurrent(worker: $0.0.worker, incarnation: $0.1, step: $0.0.step) }.map(\.0)
    }

    /// The image of `tag` with the highest step (among equals, the last worker by name and
    /// seq) on the current timeline, if any.
    public func latestImage(tag: String) throws(RunStoreError) -> StoredImage? {
        try images(tag: tag).last
    }

    /// Every alarm, ordered by step, then worker.
    public func alarms() throws(RunStoreError) -> [StoredAlarm] {
        try rows(statements.alarms, doing: "reading alarms") { row in
            StoredAlarm(worker: row.string(0), seq: row.int64(1), name: row.string(2), step: row.int64(3),
                        wallTime: row.isNull(4) ? .nan : row.double(4), message: row.string(5))
        }
    }

    /// What the store knows of each worker, sorted by name.
    public func workerInfo() throws(RunStoreError) -> [WorkerInfo] {
        try rows(statements.workerInfo, doing: "reading workers") { row in
            WorkerInfo(worker: row.string(0), host: row.isNull(1) ? nil : row.string(1),
                       pid: row.isNull(2) ? nil : Int32(truncatingIfNeeded: row.int64(2)),
                       rank: row.isNull(3) ? nil : Int32(truncatingIfNeeded: row.int64(3)),
                       firstSeen: row.isNull(4) ? .nan : row.double(4), lastSeen: row.isNull(5) ? .nan : row.double(5))
        }
    }

    // MARK: Metadata

    /// The metadata value of `key` (the run's name, its configuration, …), if set.
    public func meta(_ key: String) throws(RunStoreError) -> String? {
        let query = statements.meta
        defer { query.reset() }
        query.bind(1, key)
        do {
            return try query.step(db) ? query.string(0) : nil
        } catch {
            throw self.error(error, doing: "reading meta \(key)")
        }
    }

    /// Sets the metadata `key` to `value`, committed at once. `schema_version` is the store's own.
    public func setMeta(_ key: String, _ value: String) throws(RunStoreError) {
        precondition(key != "schema_version", "RunStore.setMeta: schema_version is managed by the store")
        let upsert = statements.upsertMeta
        upsert.bind(1, key)
        upsert.bind(2, value)
        do { try upsert.run(db) } catch { throw self.error(error, doing: "setting meta \(key)") }
    }

    // MARK: Helpers

    private static func image(_ row: Statement) -> StoredImage {
        (row.string(0), row.int64(1), Int(row.int64(2)), Int(row.int64(3)), row.blob(4))
    }

    /// Every row of `query` (bound by the caller), read with `read`; resets the statement.
    func rows<T>(_ query: Statement, doing: String, read: (Statement) -> T) throws(RunStoreError) -> [T] {
        defer { query.reset() }
        var result: [T] = []
        do {
            while try query.step(db) { result.append(read(query)) }
        } catch {
            throw self.error(error, doing: doing)
        }
        return result
    }

    /// The integer in the first column of the first row of `query`, after `bind`.
    private func single(_ query: Statement, doing: String, bind: (Statement) -> Void) throws(RunStoreError) -> Int? {
        defer { query.reset() }
        bind(query)
        do {
            return try query.step(db) ? Int(query.int64(0)) : nil
        } catch {
            throw self.error(error, doing: doing)
        }
    }
}
