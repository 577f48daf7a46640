// RunStore: every payload kind comes back as stored, duplicates change nothing, the first gap
// is found for resends, and a reopened file holds everything.

import AgonRunStore
import Foundation
import Testing

@Suite struct RunStoreTests {
    @Test func scalarsRoundTripOrderedByStep() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        let values = [ScalarValue(tag: "g_loss", value: 0.5), ScalarValue(tag: "d_loss", value: .nan),
                      ScalarValue(tag: "grad", value: .infinity), ScalarValue(tag: "", value: -1e300)]
        // Appended out of step order; read back in step order.
        let stored = try store.append([
            RunEvent(worker: "worker-0", seq: 0, step: 20, wallTime: 200.5, payload: .scalars(values)),
            RunEvent(worker: "worker-0", seq: 1, step: 10, wallTime: 100.25, payload: .scalars([ScalarValue(tag: "g_loss", value: 0.25)])),
            RunEvent(worker: "worker-1", seq: 0, step: 10, wallTime: 150, payload: .scalars([ScalarValue(tag: "g_loss", value: 7)])),
        ])
        #expect(stored == [true, true, true])
        #expect(try store.tags() == ["", "d_loss", "g_loss", "grad"])
        #expect(try store.workers() == ["worker-0", "worker-1"])
        #expect(try store.scalarCount() == 6)
        let series = try store.scalars(tag: "g_loss", worker: "worker-0")
        #expect(series.steps == [10, 20])
        #expect(series.values == [0.25, 0.5])
        #expect(series.wallTimes == [100.25, 200.5])
        #expect(try store.scalars(tag: "d_loss", worker: "worker-0").values.first?.isNaN == true)
        #expect(try store.scalars(tag: "grad", worker: "worker-0").values == [.infinity])
        #expect(try store.scalars(tag: "", worker: "worker-0").values == [-1e300])
        #expect(try store.scalars(tag: "g_loss", worker: "worker-9").steps.isEmpty)
        let info = try store.workerInfo()
        #expect(info.map(\.worker) == ["worker-0", "worker-1"])
        #expect(info[0].firstSeen == 100.25 && info[0].lastSeen == 200.5 && info[0].host == nil)
    }

    @Test func imagesRoundTrip() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0, 255, 0, 1]
        try store.append([
            RunEvent(worker: "worker-0", seq: 0, step: 100, wallTime: 2, payload: .image(tag: "samples", width: 28, height: 56, png: png)),
            RunEvent(worker: "worker-0", seq: 1, step: 50, wallTime: 1, payload: .image(tag: "samples", width: 1, height: 1, png: [])),
            RunEvent(worker: "worker-1", seq: 0, step: 70, wallTime: 3, payload: .image(tag: "real", width: 2, height: 3, png: [7])),
        ])
        let samples = try store.images(tag: "samples")
        #expect(samples.map(\.step) == [50, 100])
        #expect(samples[0].png == [] && samples[1].png == png)
        #expect(samples[1].worker == "worker-0" && samples[1].width == 28 && samples[1].height == 56)
        #expect(try store.images(tag: nil).map(\.step) == [50, 70, 100])
        #expect(try store.imageTags() == ["real", "samples"])
        let latest = try #require(try store.latestImage(tag: "samples"))
        #expect(latest.step == 100 && latest.png == png)
        #expect(try store.latestImage(tag: "missing") == nil)
        #expect(try store.tags().isEmpty)
    }

    @Test func workerIdentityRoundTrip() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        try store.append([RunEvent(worker: "worker-1", seq: 0, step: 0, wallTime: 10, payload: .worker(host: "node-a", pid: 4242, rank: 1))])
        try store.append([scalarEvent("worker-1", 1), scalarEvent("worker-2", 0)])
        let info = try store.workerInfo()
        #expect(info.map(\.worker) == ["worker-1", "worker-2"])
        #expect(info[0] == WorkerInfo(worker: "worker-1", host: "node-a", pid: 4242, rank: 1, firstSeen: 10, lastSeen: 1_700_000_001))
        #expect(info[1].host == nil && info[1].pid == nil && info[1].rank == nil)
        // A later identity (a restarted process) replaces host, pid and rank.
        try store.append([RunEvent(worker: "worker-1", seq: 2, step: 5, wallTime: 20, payload: .worker(host: "node-b", pid: 7, rank: 0))])
        let again = try store.workerInfo()[0]
        #expect(again.host == "node-b" && again.pid == 7 && again.rank == 0 && again.firstSeen == 10)
    }

    @Test func alarmsAndMetaRoundTrip() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        try store.append([
            RunEvent(worker: "worker-0", seq: 0, step: 9, wallTime: 5, payload: .alarm(name: "divergence", message: "d_loss is NaN")),
            RunEvent(worker: "worker-1", seq: 0, step: 3, wallTime: 6, payload: .alarm(name: "d_overpowering", message: "")),
        ])
        #expect(try store.alarms() == [
            StoredAlarm(worker: "worker-1", seq: 0, name: "d_overpowering", step: 3, wallTime: 6, message: ""),
            StoredAlarm(worker: "worker-0", seq: 0, name: "divergence", step: 9, wallTime: 5, message: "d_loss is NaN"),
        ])
        #expect(try store.meta("run") == nil)
        try store.setMeta("run", "fashion-1")
        try store.setMeta("run", "fashion-2")
        #expect(try store.meta("run") == "fashion-2")
        #expect(try store.meta("schema_version") == "2")
    }

    @Test func duplicatesAreIgnored() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        let batch = (0..<10).map { scalarEvent("worker-0", Int64($0)) }
        #expect(try store.append(batch) == Array(repeating: true, count: 10))
        #expect(try store.append(batch) == Array(repeating: false, count: 10))
        // A resend with a different payload is still the same event: the first copy stays.
        #expect(try store.append([scalarEvent("worker-0", 3, count: 8, base: 1000)]) == [false])
        #expect(try store.scalarCount() == 30)
        #expect(try store.storedCount(worker: "worker-0") == 10)
        #expect(try store.scalars(tag: "d_loss", worker: "worker-0").values[3] == 3)
        #expect(try store.append([]) == [])
    }

    @Test func batchMixingNewAndDuplicateEvents() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        try store.append([scalarEvent("worker-0", 0), scalarEvent("worker-0", 1)])
        let result = try store.append([
            scalarEvent("worker-0", 1), scalarEvent("worker-0", 2), scalarEvent("worker-0", 2, count: 5),
            scalarEvent("worker-0", 0), scalarEvent("worker-1", 1), scalarEvent("worker-0", 3),
        ])
        #expect(result == [false, true, false, false, true, true])
        #expect(try store.storedCount(worker: "worker-0") == 4)
        #expect(try store.storedCount(worker: "worker-1") == 1)
        #expect(try store.scalarCount() == 5 * 3)
    }

    @Test func nextSequenceFindsTheFirstGap() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        #expect(try store.nextSequence(worker: "worker-0") == 0)
        try store.append([0, 1, 2, 5].map { scalarEvent("worker-0", $0) })
        #expect(try store.nextSequence(worker: "worker-0") == 3)
        try store.append([scalarEvent("worker-0", 4)])
        #expect(try store.nextSequence(worker: "worker-0") == 3)
        try store.append([scalarEvent("worker-0", 3)])
        #expect(try store.nextSequence(worker: "worker-0") == 6)
        try store.append([1, 2].map { scalarEvent("worker-1", $0) })
        #expect(try store.nextSequence(worker: "worker-1") == 0)
        #expect(try store.storedCount(worker: "worker-0") == 6)
        #expect(try store.storedCount(worker: "nobody") == 0)
        // Another store on the file (a restarted aggregator) finds the same gap from scratch.
        #expect(try RunStore(path: folder.path()).nextSequence(worker: "worker-0") == 6)
    }

    @Test func reopeningKeepsEverything() throws {
        let folder = try TemporaryFolder()
        do {
            let store = try RunStore(path: folder.path(), durability: .powerLoss)
            try store.append((0..<50).map { scalarEvent("worker-0", Int64($0)) })
            try store.append([RunEvent(worker: "worker-0", seq: 50, step: 50, wallTime: 1, payload: .image(tag: "samples", width: 2, height: 2, png: [1, 2, 3])),
                              RunEvent(worker: "worker-0", seq: 51, step: 50, wallTime: 1, payload: .alarm(name: "a", message: "b")),
                              RunEvent(worker: "worker-0", seq: 52, step: 0, wallTime: 0.5, payload: .worker(host: "h", pid: 1, rank: 0))])
            try store.setMeta("run", "r")
        }
        let store = try RunStore(path: folder.path())
        #expect(try store.scalarCount() == 150)
        #expect(try store.nextSequence(worker: "worker-0") == 53)
        #expect(try store.scalars(tag: "g_loss", worker: "worker-0").steps == (0..<50).map { Int64($0) })
        #expect(try store.images(tag: "samples").first?.png == [1, 2, 3])
        #expect(try store.alarms().count == 1)
        #expect(try store.workerInfo().first?.host == "h")
        #expect(try store.meta("run") == "r")
        #expect(try store.append([scalarEvent("worker-0", 10)]) == [false])
    }
}
