// Incarnations and generations: a restarted source never collides with its past, values an
// earlier generation stored past a resume are superseded (kept, not shown), and a version 1
// file is migrated with everything in it.

import AgonRunStore
import CSQLite3
import Foundation
import Testing

@Suite struct RunStoreTimelineTests {
    /// A `g_loss` event of `worker`'s `incarnation` in `generation` at `step`, valued `value`.
    static func loss(_ worker: String, incarnation: Int64, generation: Int64, seq: Int64, step: Int64, _ value: Double) -> RunEvent {
        RunEvent(worker: worker, incarnation: incarnation, generation: generation, seq: seq, step: step, wallTime: Double(step),
                 payload: .scalars([ScalarValue(tag: "g_loss", value: value)]))
    }

    @Test func aRestartedSourceNumbersAfreshWithoutCollisions() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        let first = (0..<5).map { Self.loss("coordinator", incarnation: 100, generation: 0, seq: $0, step: $0 + 1, 1) }
        let second = (0..<3).map { Self.loss("coordinator", incarnation: 200, generation: 0, seq: $0, step: $0 + 6, 2) }
        #expect(try store.append(first) == Array(repeating: true, count: 5))
        #expect(try store.append(second) == Array(repeating: true, count: 3), "the same seqs of another incarnation are new events")
        #expect(try store.append(second) == Array(repeating: false, count: 3), "a resend of an incarnation is a duplicate")
        #expect(try store.nextSequence(worker: "coordinator", incarnation: 100) == 5)
        #expect(try store.nextSequence(worker: "coordinator", incarnation: 200) == 3)
        #expect(try store.nextSequence(worker: "coordinator", incarnation: 300) == 0)
        #expect(try store.workers() == ["coordinator"], "one source, two incarnations")
        #expect(try store.incarnations().map(\.incarnation) == [100, 200])
        #expect(try store.scalars(tag: "g_loss", worker: "coordinator").steps == Array(1...8))
    }

    @Test func aResumedGenerationSupersedesWhatCameAfterItsStep() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        // Generation 1 trains steps 1-30 and stops; generation 2 resumes after 20 and trains
        // 21-25; generation 3 resumes after 22 (its checkpoint) and trains 23-40.
        try store.append((1...30).map { Self.loss("worker-0", incarnation: 10, generation: 1, seq: $0 - 1, step: $0, 1) })
        try store.append([RunEvent(worker: "coordinator", incarnation: 1, generation: 1, seq: 0, step: 0, wallTime: 0,
                                   payload: .generation(number: 1, resumedFrom: 0, settings: "{}"))])
        try store.append((21...25).map { Self.loss("worker-0", incarnation: 20, generation: 2, seq: $0 - 21, step: $0, 2) })
        try store.append([RunEvent(worker: "coordinator", incarnation: 2, generation: 2, seq: 0, step: 20, wallTime: 0,
                                   payload: .generation(number: 2, resumedFrom: 20, settings: "{}"))])
        // Generation 3's values arrive before its announcement: cut by nothing yet.
        try store.append((23...40).map { Self.loss("worker-0", incarnation: 30, generation: 3, seq: $0 - 23, step: $0, 3) })
        try store.append([RunEvent(worker: "coordinator", incarnation: 3, generation: 3, seq: 0, step: 22, wallTime: 0,
                                   payload: .generation(number: 3, resumedFrom: 22, settings: #"{"lr":2}"#))])

        let series = try store.scalars(tag: "g_loss", worker: "worker-0")
        #expect(series.steps == Array(1...40), "one value per step")
        #expect(series.values == Array(repeating: 1, count: 20) + [2, 2] + Array(repeating: 3, count: 18))
        let all = try store.scalars(tag: "g_loss", worker: "worker-0", includeSuperseded: true)
        #expect(all.steps.count == 30 + 5 + 18, "superseded values stay in the store")
        #expect(try store.generations().map(\.resumedFrom) == [0, 20, 22])
        #expect(try store.generations().last?.settings == #"{"lr":2}"#)

        // Images follow the same timeline.
        let png: [UInt8] = [1, 2, 3]
        try store.append([RunEvent(worker: "coordinator", incarnation: 1, generation: 1, seq: 1, step: 25, wallTime: 0,
                                   payload: .image(tag: "samples", width: 1, height: 1, png: png)),
                          RunEvent(worker: "coordinator", incarnation: 1, generation: 1, seq: 2, step: 20, wallTime: 0,
                                   payload: .image(tag: "samples", width: 1, height: 1, png: png))])
        try store.append([RunEvent(worker: "coordinator", incarnation: 3, generation: 3, seq: 1, step: 25, wallTime: 0,
                                   payload: .image(tag: "samples", width: 1, height: 1, png: png))])
        let images = try store.images(tag: "samples")
        #expect(images.map(\.step) == [20, 25], "the grid of step 25 once, from the generation that resumed last")
        #expect(try store.images(tag: "samples", includeSuperseded: true).count == 3)
        #expect(try store.latestImage(tag: "samples")?.step == 25)
    }

    @Test func aVersion1FileIsMigratedWithEverythingInIt() throws {
        let folder = try TemporaryFolder()
        let path = folder.path()
        // The version 1 schema, as the previous release created it, with one event of each table.
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        let v1 = """
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE events(worker TEXT NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL, step INTEGER NOT NULL,
                wall_time REAL, PRIMARY KEY(worker, seq)) WITHOUT ROWID;
            CREATE TABLE scalars(worker TEXT NOT NULL, seq INTEGER NOT NULL, tag TEXT NOT NULL, step INTEGER NOT NULL, value REAL,
                wall_time REAL, position INTEGER NOT NULL, PRIMARY KEY(tag, worker, step, seq, position)) WITHOUT ROWID;
            CREATE TABLE images(worker TEXT NOT NULL, seq INTEGER NOT NULL, tag TEXT NOT NULL, step INTEGER NOT NULL, wall_time REAL,
                width INTEGER NOT NULL, height INTEGER NOT NULL, png BLOB NOT NULL);
            CREATE INDEX images_by_tag ON images(tag, step, worker, seq);
            CREATE TABLE workers(worker TEXT PRIMARY KEY, host TEXT, pid INTEGER, rank INTEGER, first_seen REAL, last_seen REAL);
            CREATE TABLE alarms(worker TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, step INTEGER NOT NULL,
                wall_time REAL, message TEXT NOT NULL);
            INSERT INTO meta VALUES('schema_version', '1');
            INSERT INTO events VALUES('w', 0, 1, 5, 1.5), ('w', 1, 2, 5, 1.5), ('w', 2, 4, 5, 1.5);
            INSERT INTO scalars VALUES('w', 0, 'g_loss', 5, 0.25, 1.5, 0);
            INSERT INTO images VALUES('w', 1, 'samples', 5, 1.5, 1, 1, x'0102');
            INSERT INTO workers VALUES('w', 'h', 7, 0, 1.5, 1.5);
            INSERT INTO alarms VALUES('w', 2, 'divergence', 5, 1.5, 'NaN');
            """
        #expect(sqlite3_exec(db, v1, nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)

        let store = try RunStore(path: path)
        #expect(try store.meta("schema_version") == "2")
        #expect(try store.scalars(tag: "g_loss", worker: "w").values == [0.25])
        #expect(try store.images(tag: "samples").map(\.png) == [[1, 2]])
        #expect(try store.alarms().map(\.name) == ["divergence"])
        #expect(try store.nextSequence(worker: "w") == 3, "the old events are incarnation 0")
        #expect(try store.incarnations().map { [$0.worker, String($0.incarnation), String($0.generation)] } == [["w", "0", "0"]])
        #expect(try store.append([scalarEvent("w", 3)]) == [true])
        #expect(try store.append([scalarEvent("w", 0)]) == [false], "a resend of an old event is still a duplicate")
    }
}
