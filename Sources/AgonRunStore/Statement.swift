// A prepared SQLite statement: bind, step, read columns, reset. Prepared once by the store and
// reused for every row, so that no SQL text is built or parsed on the write path.

import CSQLite3

/// SQLite's `SQLITE_TRANSIENT` (a macro Swift does not import): SQLite copies the bytes at bind.
var sqliteTransient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

/// One prepared statement of a connection. Bindings survive `reset`, so a caller binds the
/// columns that stay the same once and rebinds only those that change between rows.
final class Statement {
    let handle: OpaquePointer
    let sql: String

    /// Prepares `sql` on `db`; the store turns a failure into a `RunStoreError`.
    init(db: OpaquePointer, sql: String) throws(SQLiteFailure) {
        var handle: OpaquePointer?
        let result = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard result == SQLITE_OK, let handle else {
            throw SQLiteFailure(result: result, text: String(cString: sqlite3_errmsg(db)))
        }
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    // MARK: Binding (parameters count from 1)

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(handle, index, value) }
    func bindNull(_ index: Int32) { sqlite3_bind_null(handle, index) }

    /// Binds a scalar's value so that it reads back bit for bit through ``scalarValue(_:)``:
    /// SQLite writes an integral REAL as an integer, which loses the sign of −0.0, so −0.0
    /// binds as the 8-byte BLOB of its IEEE 754 bits, big-endian (x'8000000000000000'); NaN
    /// binds as NULL (SQLite's own conversion); anything else as a REAL.
    func bind(_ index: Int32, scalar value: Double) {
        if value == 0 && value.sign == .minus {
            bind(index, blob: withUnsafeBytes(of: value.bitPattern.bigEndian) { Array($0) })
        } else {
            bind(index, value)
        }
    }

    /// Binds `text` as UTF-8; an empty string binds as '' (not NULL).
    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    _ = sqlite3_bind_text(handle, index, $0, Int32(bytes.count), sqliteTransient)
                }
            } else {
                _ = sqlite3_bind_text(handle, index, "", 0, sqliteTransient)
            }
        }
    }

    /// Binds `bytes` as a BLOB; an empty array binds as a zero-length BLOB (not NULL).
    func bind(_ index: Int32, blob bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress, raw.count > 0 {
                _ = sqlite3_bind_blob64(handle, index, base, sqlite3_uint64(raw.count), sqliteTransient)
            } else {
                _ = sqlite3_bind_zeroblob(handle, index, 0)
            }
        }
    }

    // MARK: Stepping

    /// Steps once: true when a row is ready, false when done. On failure the statement is
    /// reset and the failure thrown with SQLite's message.
    func step(_ db: OpaquePointer) throws(SQLiteFailure) -> Bool {
        let result = sqlite3_step(handle)
        if result == SQLITE_ROW { return true }
        if result == SQLITE_DONE { return false }
        let text = String(cString: sqlite3_errmsg(db))
        sqlite3_reset(handle)
        throw SQLiteFailure(result: result, text: text)
    }

    /// Runs a statement that returns no rows (or whose rows are not wanted), then resets it.
    func run(_ db: OpaquePointer) throws(SQLiteFailure) {
        _ = try step(db)
        sqlite3_reset(handle)
    }

    /// Makes the statement ready to run again, ending any read it had open.
    func reset() { sqlite3_reset(handle) }

    // MARK: Columns (count from 0)

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// A scalar's value as ``bind(_:scalar:)`` stored it: NULL is NaN, an 8-byte BLOB the
    /// big-endian bits of a Double (−0.0), anything else SQLite's REAL.
    func scalarValue(_ column: Int32) -> Double {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_NULL: return .nan
        case SQLITE_BLOB:
            let bytes = blob(column)
            return bytes.count == 8 ? Double(bitPattern: bytes.reduce(0) { $0 << 8 | UInt64($1) }) : .nan
        default: return double(column)
        }
    }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

/// A failed SQLite call: its result code and message, before the store adds the path and context.
struct SQLiteFailure: Error {
    var result: Int32
    var text: String
}
