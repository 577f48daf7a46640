// The one error type of AgonRunStore: the run database could not be opened, read or written.
// Each error names the database file, says what failed and how to fix it, and keeps SQLite's text.

/// The run database could not be opened, read or written.
///
/// `message` is one line: the database path, what the store was doing, SQLite's own message
/// and what to do about it. An append that throws has stored nothing; keep the events and retry.
public struct RunStoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public enum Code: Sendable, Hashable {
        /// An I/O error, a file that cannot be opened, or any other SQLite failure.
        case io
        /// The disk (or the database's size limit) is full.
        case full
        /// The file, its folder or the connection is read-only.
        case readOnly
        /// The file is not an SQLite database, or its pages are damaged.
        case corrupt
        /// The file is a database but not a run store this build can use (a newer schema,
        /// or somebody else's tables).
        case schema
        /// Another connection holds the write lock and did not release it in time.
        case busy
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line naming the database file and what was wrong.
    public var message: String
    /// The database file the error is about.
    public var path: String
    /// SQLite's (extended) result code, when SQLite reported the failure.
    public var sqliteCode: Int32?

    /// An error of `code` about the database at `path`.
    public init(_ code: Code, _ message: String, path: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.sqliteCode = sqliteCode
    }

    /// The message.
    public var description: String { message }
}

extension RunStoreError.Code {
    /// The code for SQLite's result code `result` (primary or extended).
    init(sqliteResult result: Int32) {
        switch result & 0xFF {
        case 13: self = .full                    // SQLITE_FULL
        case 8, 3, 23: self = .readOnly          // SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH
        case 11, 26: self = .corrupt             // SQLITE_CORRUPT, SQLITE_NOTADB
        case 5, 6: self = .busy                  // SQLITE_BUSY, SQLITE_LOCKED
        case 17: self = .schema                  // SQLITE_SCHEMA
        default: self = .io
        }
    }

    /// What to do about an error of this kind, as the end of a message.
    var advice: String {
        switch self {
        case .io: "check that the file and its folder exist and are accessible"
        case .full: "free space on its disk and retry"
        case .readOnly: "check the permissions of the file, its -wal and -shm files and its folder"
        case .corrupt: "the file is not a readable SQLite database; restore it or start a new run"
        case .schema: "open it with the Agon version that wrote it, or use a new run folder"
        case .busy: "another process is writing to it; stop it or retry later"
        }
    }
}
