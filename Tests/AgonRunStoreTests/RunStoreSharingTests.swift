// RunStore shared with readers: a second store on the same file sees each committed batch,
// whole, while the writer goes on (WAL); and the append rate of a realistic load.

import AgonRunStore
import Foundation
import Testing

@Suite struct RunStoreSharingTests {
    @Test func readerSeesCommittedBatchesWhileWriterIsOpen() throws {
        let folder = try TemporaryFolder()
        let writer = try RunStore(path: folder.path())
        let reader = try RunStore(path: folder.path())
        let readOnlyReader = try RunStore(path: folder.path(), readOnly: true)
        #expect(try reader.scalarCount() == 0)
        try writer.append((0..<5).map { scalarEvent("worker-0", Int64($0)) })
        #expect(try reader.scalarCount() == 15)
        #expect(try readOnlyReader.scalarCount() == 15)
        try writer.append((5..<8).map { scalarEvent("worker-0", Int64($0)) })
        #expect(try reader.nextSequence(worker: "worker-0") == 8)
        #expect(try readOnlyReader.scalars(tag: "g_loss", worker: "worker-0").steps == Array(0..<8))
        // The reader may write too: its batch is the writer's to see.
        try reader.append([scalarEvent("worker-1", 0)])
        #expect(try writer.workers() == ["worker-0", "worker-1"])
    }

    @Test func concurrentReaderNeverSeesHalfABatch() throws {
        let folder = try TemporaryFolder()
        let writer = try RunStore(path: folder.path())
        let reader = try RunStore(path: folder.path())
        let batches = 100, eventsPerBatch = 50, perEvent = 8
        let perBatch = eventsPerBatch * perEvent, total = batches * perBatch
        // The reader polls on its own thread (not the shared task pool, which other tests may
        // hold), and the writer starts once it is reading, so that the two overlap.
        let observations = Observations()
        let started = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        Thread {
            defer { finished.signal() }
            do {
                var seen = [try reader.scalarCount()]
                started.signal()
                while seen.last! < total {
                    let count = try reader.scalarCount()
                    if seen.last != count { seen.append(count) }
                }
                observations.seen = seen
            } catch {
                observations.error = error
                started.signal()
            }
        }.start()
        started.wait()
        for b in 0..<batches {
            try writer.append((0..<eventsPerBatch).map { scalarEvent("worker-0", Int64(b * eventsPerBatch + $0), count: perEvent) })
        }
        finished.wait()
        #expect(observations.error == nil)
        let observed = observations.seen
        #expect(observed.allSatisfy { $0 % perBatch == 0 }, "a reader saw part of a batch: \(observed)")
        #expect(observed == observed.sorted())
        #expect(observed.last == total)
        print("RunStore reader saw \(observed.count) distinct committed states while the writer ran")
    }

    @Test func appendThroughput() throws {
        let folder = try TemporaryFolder()
        let rate = try RunStore.benchmarkAppend(path: folder.path(), scalars: 200_000, batch: 2_000)
        let store = try RunStore(path: folder.path())
        #expect(try store.scalarCount() == 200_000)
        #expect(try store.nextSequence(worker: "bench") == 25_000)
        #expect(try store.tags().count == 8)
        print("RunStore append: \(Int(rate)) scalars/s (200,000 scalars in batches of 2,000, debug build)")
    }
}

/// What the reader thread saw, handed over through a semaphore (which orders the accesses).
private final class Observations: @unchecked Sendable {
    var seen: [Int] = []
    var error: (any Error)?
}
