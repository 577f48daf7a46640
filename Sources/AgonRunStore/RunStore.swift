// The SQLite database of one run (`RUN/run.db`): opening it, creating or checking its schema,
// and the statements it prepares once. Writes are in RunStore+Append.swift, reads in
// RunStore+Queries.swift.

import CSQLite3

/// The events of one run, kept in an SQLite database in WAL mode.
///
/// Every event is stored under `(worker, incarnation, seq)`; an event already stored is
/// ignored, so a worker may resend freely. ``append(_:)`` writes a batch in one transaction: when it returns,
/// the batch is on disk to the level of ``Durability``; when it throws, nothing of it is.
///
/// A `RunStore` holds one SQLite connection and is used from one thread at a time (it is
/// `@unchecked Sendable` so that it can be handed to the thread or task that owns it; it does
/// no locking of its own). Other processes, or other `RunStore`s on the same file, may read
/// while it writes: WAL readers see every committed batch and never block the writer.
public final class RunStore: @unchecked Sendable {
    /// What a returned ``append(_:)`` survives.
    public enum Durability: Sendable, Hashable {
        /// `synchronous=NORMAL`: a committed batch survives the process being killed (the
        /// promise an acknowledgement makes); the last batches before an OS crash or power loss
        /// may be lost, never half of one. The fast setting, and the default.
        case process
        /// `synchronous=FULL`: the WAL is fsynced at every commit, so a committed batch also
        /// survives power loss, at the cost of one fsync per ``append(_:)``.
        case powerLoss
    }

    /// The database file.
    public let path: String
    /// True when the connection cannot write: opened with `readOnly`, or the file is not writable.
    public let isReadOnly: Bool

    let db: OpaquePointer
    let statements: Statements
    /// Per (worker, incarnation), a seq below which every event is known to be stored (the
    /// first gap only grows).
    var knownPrefix: [SourceIncarnation: Int64] = [:]

    /// Opens the run database at `path`, creating the file and the schema if missing.
    ///
    /// - Parameters:
    ///   - path: the database file, conventionally `RUN/run.db`; its folder must exist.
    ///   - durability: what a returned ``append(_:)`` survives; see ``Durability``.
    ///   - readOnly: open for reading only (SQLITE_OPEN_READONLY); every append then throws
    ///     ``RunStoreError/Code/readOnly``. The file must already hold a run store.
    ///   - busyTimeout: seconds to wait for another connection's write lock before
    ///     ``RunStoreError/Code/busy``.
    /// - Throws: ``RunStoreError``: `.io` when the file cannot be opened, `.corrupt` when it is
    ///   not an SQLite database, `.schema` when it holds another schema or a newer version.
    public init(path: String, durability: Durability = .process, readOnly: Bool = false,
                busyTimeout: Double = 5) throws(RunStoreError) {
        precondition(busyTimeout >= 0, "RunStore busyTimeout must be >= 0 seconds, got \(busyTimeout)")
        self.path = path
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let opened = sqlite3_open_v2(path, &handle, flags, nil)
        guard opened == SQLITE_OK, let handle else {
            let text = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(opened))
            sqlite3_close_v2(handle)
            throw Self.error(SQLiteFailure(result: opened, text: text), path: path, doing: "opening the run store")
        }
        db = handle
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Int32(min(busyTimeout * 1000, Double(Int32.max))))
        isReadOnly = readOnly || sqlite3_db_readonly(db, "main") == 1
        do {
            try Self.configure(db, durability: durability, writable: !isReadOnly)
            try Self.prepareSchema(db, path: path, writable: !isReadOnly)
            statements = try Statements(db: db)
        } catch let failure as SQLiteFailure {
            sqlite3_close_v2(db)
            throw Self.error(failure, path: path, doing: "opening the run store")
        } catch let error as RunStoreError {
            sqlite3_close_v2(db)
            throw error
        } catch {
            sqlite3_close_v2(db)
            throw RunStoreError(.io, "\(path): opening the run store failed: \(error)", path: path)
        }
    }

    deinit {
        // Closes once the prepared statements (released right after this) are finalized.
        sqlite3_close_v2(db)
    }

    /// WAL, the synchronous level and a larger page cache, on a connection that can write.
    private static func configure(_ db: OpaquePointer, durability: Durability, writable: Bool) throws(SQLiteFailure) {
        guard writable else {
            // Reading needs the file: fail here on a non-database rather than at the first query.
            _ = try firstRow(db, Schema.tableCount, { $0.int64(0) })
            return
        }
        _ = try firstRow(db, "PRAGMA journal_mode=WAL", { $0.string(0) })  // returns the mode as a row
        try execute(db, durability == .powerLoss ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")
        try execute(db, "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY")
    }

    /// Creates the schema in an empty file; checks the version of an existing one.
    private static func prepareSchema(_ db: OpaquePointer, path: String, writable: Bool) throws -> Void {
        if try firstRow(db, Schema.hasMeta, { $0.int64(0) }) == 0 {
            let tables = try firstRow(db, Schema.tableCount, { $0.int64(0) }) ?? 0
            if tables > 0 {
                throw RunStoreError(.schema, "\(path): is an SQLite database with \(tables) tables but no meta table, "
                                    + "not an Agon run store; \(RunStoreError.Code.schema.advice)", path: path)
            }
            guard writable else {
                throw RunStoreError(.schema, "\(path): holds no run store and was opened read-only; "
                                    + "open it writable to create one", path: path)
            }
            try execute(db, "BEGIN IMMEDIATE")
            do {
                try execute(db, Schema.create)
                try execute(db, "COMMIT")
            } catch {
                if sqlite3_get_autocommit(db) == 0 { try? execute(db, "ROLLBACK") }
                throw error
            }
        }
        let found = try firstRow(db, Schema.schemaVersion, { Int($0.string(0)) }) ?? nil
        guard let found, found >= 1 else {
            throw RunStoreError(.schema, "\(path): has a meta table without a valid schema_version, "
                                + "not an Agon run store; \(RunStoreError.Code.schema.advice)", path: path)
        }
        guard found <= Schema.version else {
            throw RunStoreError(.schema, "\(path): was written by a newer Agon (schema version \(found); this build "
                                + "reads up to \(Schema.version)); \(RunStoreError.Code.schema.advice)", path: path)
        }
        if found == 1 {
            guard writable else {
                throw RunStoreError(.schema, "\(path): holds schema version 1, which this build migrates to \(Schema.version) "
                                    + "when it opens the file writable; open it once with `agon plot` or an aggregator", path: path)
            }
            try execute(db, "BEGIN IMMEDIATE")
            do {
                // Another process may have migrated it while this one waited for the lock.
                if try firstRow(db, Schema.schemaVersion, { Int($0.string(0)) }) == 1 { try execute(db, Schema.migrateFrom1) }
                try execute(db, "COMMIT")
            } catch {
                if sqlite3_get_autocommit(db) == 0 { try? execute(db, "ROLLBACK") }
                throw error
            }
        }
    }

    /// Prepares `sql`, reads its first row with `read` (nil when there is none) and finalizes it.
    private static func firstRow<T>(_ db: OpaquePointer, _ sql: String,
                                    _ read: (Statement) -> T) throws(SQLiteFailure) -> T? {
        let statement = try Statement(db: db, sql: sql)
        return try statement.step(db) ? read(statement) : nil
    }

    /// Runs SQL text that returns no rows (one or more statements; used at open and by tests).
    static func execute(_ db: OpaquePointer, _ sql: String) throws(SQLiteFailure) {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(db, sql, nil, nil, &message)
        guard result == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(message)
            throw SQLiteFailure(result: result, text: text)
        }
    }

    /// Runs SQL text on this store's connection (for tests and maintenance; not for rows).
    func execute(_ sql: String) throws(RunStoreError) {
        do { try Self.execute(db, sql) } catch { throw self.error(error, doing: "running \(sql)") }
    }

    /// A `RunStoreError` for a failed SQLite call made while `doing` something.
    func error(_ failure: SQLiteFailure, doing: String) -> RunStoreError {
        Self.error(failure, path: path, doing: doing)
    }

    static func error(_ failure: SQLiteFailure, path: String, doing: String) -> RunStoreError {
        let code = RunStoreError.Code(sqliteResult: failure.result)
        return RunStoreError(code, "\(path): \(doing) failed: \(failure.text) (SQLite code \(failure.result)); \(code.advice)",
                             path: path, sqliteCode: failure.result)
    }
}

extension RunStore {
    /// Every statement of the store, prepared once when it opens.
    struct Statements {
        let begin, commit, rollback: Statement
        let insertEvent, insertScalar, insertImage, insertAlarm, insertRefused, insertGeneration: Statement
        let upsertWorkerIdentity, upsertWorkerSeen, upsertMeta, upsertIncarnation, setIncarnationIdentity: Statement
        let hasEvent, firstGapFrom, storedCount: Statement
        let tags, imageTags, workers, scalars, scalarCount: Statement
        let imagesOfTag, allImages, alarms, meta, workerInfo, incarnations, generations: Statement

        init(db: OpaquePointer) throws(SQLiteFailure) {
            func prepare(_ sql: String) throws(SQLiteFailure) -> Statement { try Statement(db: db, sql: sql) }
            begin = try prepare(Schema.begin)
            commit = try prepare(Schema.commit)
            rollback = try prepare(Schema.rollback)
            insertEvent = try prepare(Schema.insertEvent)
            insertScalar = try prepare(Schema.insertScalar)
            insertImage = try prepare(Schema.insertImage)
            insertAlarm = try prepare(Schema.insertAlarm)
            insertRefused = try prepare(Schema.insertRefused)
            insertGeneration = try prepare(Schema.insertGeneration)
            upsertIncarnation = try prepare(Schema.upsertIncarnation)
            setIncarnationIdentity = try prepare(Schema.setIncarnationIdentity)
            upsertWorkerIdentity = try prepare(Schema.upsertWorkerIdentity)
            upsertWorkerSeen = try prepare(Schema.upsertWorkerSeen)
            upsertMeta = try prepare(Schema.upsertMeta)
            hasEvent = try prepare(Schema.hasEvent)
            firstGapFrom = try prepare(Schema.firstGapFrom)
            storedCount = try prepare(Schema.storedCount)
            tags = try prepare(Schema.tags)
            imageTags = try prepare(Schema.imageTags)
            workers = try prepare(Schema.workers)
            scalars = try prepare(Schema.scalars)
            scalarCount = try prepare(Schema.scalarCount)
            imagesOfTag = try prepare(Schema.imagesOfTag)
            allImages = try prepare(Schema.allImages)
            incarnations = try prepare(Schema.incarnations)
            generations = try prepare(Schema.generations)
            alarms = try prepare(Schema.alarms)
            meta = try prepare(Schema.meta)
            workerInfo = try prepare(Schema.workerInfo)
        }
    }
}
