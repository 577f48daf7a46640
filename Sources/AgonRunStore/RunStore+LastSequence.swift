// The highest seq a source has stored: where a writer that appends in process (`agon train`)
// goes on numbering after a restart, so that its new events never collide with its old ones.

extension RunStore {
    /// The largest seq stored for `worker`, or nil when it has stored nothing.
    ///
    /// Unlike ``nextSequence(worker:)`` (the first gap, for resending), this looks past gaps:
    /// a writer that numbers from here on can never reuse a stored number.
    public func lastSequence(worker: String) throws(RunStoreError) -> Int64? {
        do {
            // Prepared here rather than with the store's statements: it runs once per process.
            let query = try Statement(db: db, sql: "SELECT max(seq) FROM events WHERE worker = ?1")
            query.bind(1, worker)
            guard try query.step(db), !query.isNull(0) else { return nil }
            return query.int64(0)
        } catch {
            throw self.error(error, doing: "finding the last sequence number of \(worker)")
        }
    }
}
