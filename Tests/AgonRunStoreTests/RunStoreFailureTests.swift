// RunStore failures: a read-only file, a corrupt file, a newer or foreign schema, a held write
// lock and a full database each give the right RunStoreError code, name the file, and leave
// nothing of the failed batch behind.

@testable import AgonRunStore
import Foundation
import Testing

@Suite struct RunStoreFailureTests {
    @Test func readOnlyFileRefusesAppendsAndStoresNothing() throws {
        let folder = try TemporaryFolder()
        let path = folder.path()
        do {
            let store = try RunStore(path: path)
            try store.append((0..<4).map { scalarEvent("worker-0", Int64($0)) })
        }
        // The last connection to close checkpoints the WAL and removes -wal and -shm.
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)

        // Root writes through 0444 anyway, so open read-only the way SQLite knows it.
        let store = try RunStore(path: path, readOnly: true)
        #expect(store.isReadOnly)
        let error = #expect(throws: RunStoreError.self) { try store.append([scalarEvent("worker-0", 4)]) }
        #expect(error?.code == .readOnly)
        #expect(error?.message.contains(path) == true)
        #expect(try store.storedCount(worker: "worker-0") == 4)
        #expect(try store.nextSequence(worker: "worker-0") == 4)
        #expect(throws: RunStoreError.self) { try store.setMeta("run", "x") }

        // Anyone else meets the permission bits: the connection opens read-only by itself.
        if geteuid() != 0 {
            let plain = try RunStore(path: path)
            #expect(plain.isReadOnly)
            #expect((try? plain.append([scalarEvent("worker-0", 4)])) == nil)
        }
        #expect(try RunStore(path: path, readOnly: true).scalarCount() == 12)
    }

    @Test func readOnlyOpenOfAnEmptyFileIsASchemaError() throws {
        let folder = try TemporaryFolder()
        _ = FileManager.default.createFile(atPath: folder.path(), contents: Data())
        let error = #expect(throws: RunStoreError.self) { try RunStore(path: folder.path(), readOnly: true) }
        #expect(error?.code == .schema)
    }

    @Test func corruptFileIsRefusedNamingThePath() throws {
        let folder = try TemporaryFolder()
        let path = folder.path()
        _ = FileManager.default.createFile(atPath: path, contents: Data(pseudoRandomBytes(16_384, seed: 7)))
        for readOnly in [false, true] {
            let error = #expect(throws: RunStoreError.self) { try RunStore(path: path, readOnly: readOnly) }
            #expect(error?.code == .corrupt || error?.code == .schema)
            #expect(error?.message.hasPrefix(path) == true)
        }
    }

    @Test func newerSchemaIsRefused() throws {
        let folder = try TemporaryFolder()
        do { try RunStore(path: folder.path()).execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'") }
        let error = #expect(throws: RunStoreError.self) { try RunStore(path: folder.path()) }
        #expect(error?.code == .schema)
        #expect(error?.message.contains("newer") == true && error?.message.contains("99") == true)
    }

    @Test func foreignDatabaseIsRefused() throws {
        let folder = try TemporaryFolder()
        do { try RunStore(path: folder.path()).execute("DROP TABLE meta") }
        let error = #expect(throws: RunStoreError.self) { try RunStore(path: folder.path()) }
        #expect(error?.code == .schema)
        #expect(error?.message.contains(folder.path()) == true)
    }

    @Test func missingFolderIsAnIOError() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("no/such/folder/run.db")
        let error = #expect(throws: RunStoreError.self) { try RunStore(path: path) }
        #expect(error?.code == .io)
        #expect(error?.message.hasPrefix(path) == true)
    }

    @Test func heldWriteLockIsBusyAndStoresNothing() throws {
        let folder = try TemporaryFolder()
        let holder = try RunStore(path: folder.path())
        let writer = try RunStore(path: folder.path(), busyTimeout: 0.05)
        try holder.execute("BEGIN IMMEDIATE")
        let error = #expect(throws: RunStoreError.self) { try writer.append([scalarEvent("worker-0", 0)]) }
        #expect(error?.code == .busy)
        try holder.execute("ROLLBACK")
        #expect(try writer.storedCount(worker: "worker-0") == 0)
        #expect(try writer.append([scalarEvent("worker-0", 0)]) == [true])  // the retry succeeds
    }

    @Test func fullDatabaseRollsBackTheWholeBatch() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        try store.append([scalarEvent("worker-0", 0)])
        // SQLite's size limit gives the same SQLITE_FULL as a full disk, without one.
        try store.execute("PRAGMA max_page_count = 40")
        let png = [UInt8](repeating: 0xAB, count: 400_000)
        let batch = [scalarEvent("worker-0", 1), scalarEvent("worker-0", 2),
                     RunEvent(worker: "worker-0", seq: 3, step: 3, wallTime: 3, payload: .image(tag: "samples", width: 1, height: 1, png: png))]
        let error = #expect(throws: RunStoreError.self) { try store.append(batch) }
        #expect(error?.code == .full)
        #expect(error?.message.hasPrefix(folder.path()) == true)
        #expect(try store.storedCount(worker: "worker-0") == 1)
        #expect(try store.scalarCount() == 3)
        #expect(try store.images(tag: nil).isEmpty)
        // With room again, the caller's retry of the same batch stores all of it.
        try store.execute("PRAGMA max_page_count = 1073741823")
        #expect(try store.append(batch) == [true, true, true])
        #expect(try store.nextSequence(worker: "worker-0") == 4)
    }

    @Test(.disabled("a real ENOSPC needs a small filesystem, and mounting one (tmpfs, loop) takes root; SQLITE_FULL and its rollback are covered by fullDatabaseRollsBackTheWholeBatch"))
    func fullFilesystem() {}
}
