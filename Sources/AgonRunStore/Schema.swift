// The run database's schema, version 2: the SQL that creates it, the migration from version 1,
// and the SQL of every statement the store prepares. docs/RUNSTORE.md describes the tables.

/// The tables, their indexes and every statement of the store.
enum Schema {
    /// The schema version this build writes and reads; a newer one is refused.
    static let version = 2

    /// Creates the tables where missing; idempotent, so two processes may run it together.
    /// REAL columns accept NULL, which is how SQLite stores a NaN (read back as NaN).
    ///
    /// `scalars` is clustered on its key (tag, worker, step, seq, position): that key is the
    /// index on (tag, worker, step), and a series is one contiguous range of the table. One
    /// B-tree instead of a table plus an index: appends measured 15% faster, series reads 3×.
    /// `position` (the value's place in its event) keeps two values of one tag in one event apart.
    ///
    /// A source (`worker`) is stable across restarts; each start of it is an `incarnation` that
    /// numbers its events from 0, so every event is keyed by (worker, incarnation, seq).
    /// `incarnations` says which run `generation` each incarnation trained in, and `generations`
    /// after which step each generation resumed: what an earlier generation stored past that
    /// step is superseded (kept, not shown).
    static let create = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE IF NOT EXISTS events(
            worker TEXT NOT NULL, incarnation INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL,
            kind INTEGER NOT NULL, step INTEGER NOT NULL, wall_time REAL,
            PRIMARY KEY(worker, incarnation, seq)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS scalars(
            worker TEXT NOT NULL, incarnation INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL,
            tag TEXT NOT NULL, step INTEGER NOT NULL, value REAL, wall_time REAL, position INTEGER NOT NULL,
            PRIMARY KEY(tag, worker, step, incarnation, seq, position)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS images(
            worker TEXT NOT NULL, seq INTEGER NOT NULL, tag TEXT NOT NULL,
            step INTEGER NOT NULL, wall_time REAL, width INTEGER NOT NULL,
            height INTEGER NOT NULL, png BLOB NOT NULL, incarnation INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS images_by_tag ON images(tag, step, worker, seq);
        CREATE TABLE IF NOT EXISTS workers(
            worker TEXT PRIMARY KEY, host TEXT, pid INTEGER, rank INTEGER,
            first_seen REAL, last_seen REAL);
        CREATE TABLE IF NOT EXISTS alarms(
            worker TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
            step INTEGER NOT NULL, wall_time REAL, message TEXT NOT NULL, incarnation INTEGER NOT NULL DEFAULT 0);
        \(incarnationTables)
        INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '\(version)');
        """

    /// The tables version 2 added: every incarnation of every source, and every generation.
    static let incarnationTables = """
        CREATE TABLE IF NOT EXISTS incarnations(
            worker TEXT NOT NULL, incarnation INTEGER NOT NULL, generation INTEGER NOT NULL,
            host TEXT, pid INTEGER, first_seen REAL, last_seen REAL,
            PRIMARY KEY(worker, incarnation)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS generations(
            generation INTEGER PRIMARY KEY, resumed_from INTEGER NOT NULL, wall_time REAL, settings TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS refused(
            worker TEXT NOT NULL, incarnation INTEGER NOT NULL, seq INTEGER NOT NULL, reason TEXT NOT NULL,
            PRIMARY KEY(worker, incarnation, seq)) WITHOUT ROWID;
        """

    /// From version 1 (no incarnations): every stored event becomes incarnation 0 of its
    /// source, generation 0 (never superseded). The two clustered tables change their key, so
    /// they are copied; the others gain a column.
    static let migrateFrom1 = """
        CREATE TABLE events_v2(
            worker TEXT NOT NULL, incarnation INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL,
            kind INTEGER NOT NULL, step INTEGER NOT NULL, wall_time REAL,
            PRIMARY KEY(worker, incarnation, seq)) WITHOUT ROWID;
        INSERT INTO events_v2(worker, incarnation, seq, kind, step, wall_time) SELECT worker, 0, seq, kind, step, wall_time FROM events;
        DROP TABLE events;
        ALTER TABLE events_v2 RENAME TO events;
        CREATE TABLE scalars_v2(
            worker TEXT NOT NULL, incarnation INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL,
            tag TEXT NOT NULL, step INTEGER NOT NULL, value REAL, wall_time REAL, position INTEGER NOT NULL,
            PRIMARY KEY(tag, worker, step, incarnation, seq, position)) WITHOUT ROWID;
        INSERT INTO scalars_v2(worker, incarnation, seq, tag, step, value, wall_time, position)
            SELECT worker, 0, seq, tag, step, value, wall_time, position FROM scalars;
        DROP TABLE scalars;
        ALTER TABLE scalars_v2 RENAME TO scalars;
        ALTER TABLE images ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE alarms ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0;
        \(incarnationTables)
        INSERT OR IGNORE INTO incarnations(worker, incarnation, generation, first_seen, last_seen)
            SELECT worker, 0, 0, first_seen, last_seen FROM workers;
        UPDATE meta SET value = '2' WHERE key = 'schema_version';
        """

    // MARK: Opening

    static let hasMeta = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    static let tableCount = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
    static let schemaVersion = "SELECT value FROM meta WHERE key = 'schema_version'"

    // MARK: Writing

    static let begin = "BEGIN IMMEDIATE"
    static let commit = "COMMIT"
    static let rollback = "ROLLBACK"
    /// Ignored (no change) when `(worker, seq)` is already stored: that is the duplicate test.
    static let insertEvent = "INSERT OR IGNORE INTO events(worker, seq, kind, step, wall_time, incarnation) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
    static let insertScalar = "INSERT INTO scalars(worker, seq, tag, step, value, wall_time, position, incarnation) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    static let insertImage = """
        INSERT INTO images(worker, seq, tag, step, wall_time, width, height, png, incarnation)
        VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
        """
    static let insertAlarm = "INSERT INTO alarms(worker, seq, name, step, wall_time, message, incarnation) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    static let insertRefused = "INSERT OR IGNORE INTO refused(worker, incarnation, seq, reason) VALUES(?1, ?2, ?3, ?4)"
    /// The first generation event of a number wins; a resend changes nothing.
    static let insertGeneration = "INSERT OR IGNORE INTO generations(generation, resumed_from, wall_time, settings) VALUES(?1, ?2, ?3, ?4)"
    /// An incarnation's generation, host and pid (from its `.worker` event) and wall-time span.
    static let upsertIncarnation = """
        INSERT INTO incarnations(worker, incarnation, generation, first_seen, last_seen) VALUES(?1, ?2, ?3, ?4, ?5)
        ON CONFLICT(worker, incarnation) DO UPDATE SET
            first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
            last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen)
        """
    static let setIncarnationIdentity = "UPDATE incarnations SET host = ?3, pid = ?4 WHERE worker = ?1 AND incarnation = ?2"
    /// The latest applied `.worker` event sets host, pid and rank.
    static let upsertWorkerIdentity = """
        INSERT INTO workers(worker, host, pid, rank, first_seen, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?5)
        ON CONFLICT(worker) DO UPDATE SET host = excluded.host, pid = excluded.pid, rank = excluded.rank
        """
    /// Widens a worker's [first_seen, last_seen] to a batch's wall times (max/min ignore NULL).
    static let upsertWorkerSeen = """
        INSERT INTO workers(worker, first_seen, last_seen) VALUES(?1, ?2, ?3)
        ON CONFLICT(worker) DO UPDATE SET
            first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
            last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen)
        """
    static let upsertMeta = "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value"

    // MARK: Reading

    static let hasEvent = "SELECT 1 FROM events WHERE worker = ?1 AND incarnation = ?3 AND seq = ?2"
    /// The first missing seq above `?2`, given that `?2` is stored: walks the key in order
    /// and stops at the first event without a successor.
    static let firstGapFrom = """
        SELECT e.seq + 1 FROM events AS e
        WHERE e.worker = ?1 AND e.incarnation = ?3 AND e.seq >= ?2
          AND NOT EXISTS (SELECT 1 FROM events AS f WHERE f.worker = ?1 AND f.incarnation = ?3 AND f.seq = e.seq + 1)
        ORDER BY e.seq LIMIT 1
        """
    static let storedCount = "SELECT count(*) FROM events WHERE worker = ?1"
    /// Distinct tags by hopping through the index: one lookup per tag, not a scan of every row.
    static let tags = """
        WITH RECURSIVE t(tag) AS (
            SELECT min(tag) FROM scalars
            UNION ALL
            SELECT (SELECT min(tag) FROM scalars WHERE tag > t.tag) FROM t WHERE t.tag IS NOT NULL)
        SELECT tag FROM t WHERE tag IS NOT NULL
        """
    static let imageTags = "SELECT DISTINCT tag FROM images ORDER BY tag"
    static let workers = "SELECT worker FROM workers ORDER BY worker"
    static let scalars = """
        SELECT step, value, wall_time, incarnation FROM scalars WHERE tag = ?1 AND worker = ?2 ORDER BY step, incarnation, seq, position
        """
    static let scalarCount = "SELECT count(*) FROM scalars"
    static let imagesOfTag = "SELECT worker, step, width, height, png, incarnation FROM images WHERE tag = ?1 ORDER BY step, worker, incarnation, seq"
    static let allImages = "SELECT worker, step, width, height, png, incarnation FROM images ORDER BY step, worker, incarnation, seq"
    static let incarnations = "SELECT worker, incarnation, generation, host, pid, first_seen, last_seen FROM incarnations ORDER BY worker, incarnation"
    static let generations = "SELECT generation, resumed_from, wall_time, settings FROM generations ORDER BY generation"
    static let alarms = "SELECT worker, seq, name, step, wall_time, message FROM alarms ORDER BY step, worker, seq"
    static let meta = "SELECT value FROM meta WHERE key = ?1"
    static let workerInfo = "SELECT worker, host, pid, rank, first_seen, last_seen FROM workers ORDER BY worker"
}
