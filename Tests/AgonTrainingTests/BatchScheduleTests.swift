// Tests of BatchSchedule: every epoch visits each sample at most once, and the order does not
// depend on how many workers share a step.
import AgonTraining
import Testing

@Suite struct BatchScheduleTests {
    @Test func sizes() {
        let schedule = BatchSchedule(datasetCount: 100, batchPerWorker: 8, workers: 3, seed: 1)
        #expect(schedule.globalBatch == 24)
        #expect(schedule.stepsPerEpoch == 4)  // 100 / 24, the last 4 samples dropped
        #expect(schedule.epoch(ofStep: 0) == 0)
        #expect(schedule.epoch(ofStep: 3) == 0)
        #expect(schedule.epoch(ofStep: 4) == 1)
        #expect(schedule.indices(step: 5, rank: 2).count == 8)
    }

    @Test func eachEpochIsAPermutation() {
        let schedule = BatchSchedule(datasetCount: 96, batchPerWorker: 4, workers: 3, seed: 7)
        for epoch in 0..<3 {
            #expect(schedule.order(epoch: epoch).sorted() == Array(0..<96))
            var seen: [Int] = []
            for step in epoch * schedule.stepsPerEpoch..<(epoch + 1) * schedule.stepsPerEpoch {
                for rank in 0..<3 { seen += schedule.indices(step: step, rank: rank) }
            }
            #expect(seen.sorted() == Array(0..<96), "epoch \(epoch)")
        }
    }

    @Test func remainderIsDroppedWithoutRepeats() {
        let schedule = BatchSchedule(datasetCount: 100, batchPerWorker: 8, workers: 3, seed: 7)
        var seen: [Int] = []
        for step in 0..<schedule.stepsPerEpoch {
            for rank in 0..<3 { seen += schedule.indices(step: step, rank: rank) }
        }
        #expect(seen.count == 96)
        #expect(Set(seen).count == 96)
        #expect(seen.allSatisfy { (0..<100).contains($0) })
    }

    @Test func twoWorkersSeeWhatOneWorkerWithDoubleBatchSees() {
        let one = BatchSchedule(datasetCount: 1000, batchPerWorker: 64, workers: 1, seed: 42)
        let two = BatchSchedule(datasetCount: 1000, batchPerWorker: 32, workers: 2, seed: 42)
        let four = BatchSchedule(datasetCount: 1000, batchPerWorker: 16, workers: 4, seed: 42)
        #expect(one.stepsPerEpoch == two.stepsPerEpoch && two.stepsPerEpoch == four.stepsPerEpoch)
        // Across an epoch boundary, and back to an earlier epoch after the cache has moved on.
        for step in Array(0..<40) + [3, 0] {
            let whole = Array(one.indices(step: step, rank: 0))
            let halves = Array(two.indices(step: step, rank: 0)) + Array(two.indices(step: step, rank: 1))
            let quarters = (0..<4).flatMap { four.indices(step: step, rank: $0) }
            #expect(halves == whole, "step \(step)")
            #expect(quarters == whole, "step \(step)")
            #expect(Array(two.globalIndices(step: step)) == whole, "step \(step)")
        }
    }

    @Test func differentEpochsDiffer() {
        let schedule = BatchSchedule(datasetCount: 500, batchPerWorker: 10, workers: 2, seed: 3)
        let orders = (0..<4).map { schedule.order(epoch: $0) }
        for a in 0..<4 {
            for b in a + 1..<4 { #expect(orders[a] != orders[b], "epochs \(a) and \(b)") }
        }
        let firstOfEpoch0 = schedule.indices(step: 0, rank: 0)
        let firstOfEpoch1 = schedule.indices(step: schedule.stepsPerEpoch, rank: 0)
        #expect(firstOfEpoch0 != firstOfEpoch1)
    }

    @Test func sameSeedSameOrderOtherSeedOtherOrder() {
        let a = BatchSchedule(datasetCount: 300, batchPerWorker: 5, workers: 2, seed: 99)
        let b = BatchSchedule(datasetCount: 300, batchPerWorker: 5, workers: 2, seed: 99)
        let c = BatchSchedule(datasetCount: 300, batchPerWorker: 5, workers: 2, seed: 100)
        for step in [0, 1, 29, 30, 31, 95] {
            for rank in 0..<2 { #expect(a.indices(step: step, rank: rank) == b.indices(step: step, rank: rank)) }
        }
        #expect(a.order(epoch: 0) != c.order(epoch: 0))
    }

    @Test func copiesAndConcurrentReadersAgree() async {
        let schedule = BatchSchedule(datasetCount: 2000, batchPerWorker: 50, workers: 2, seed: 5)
        let expected = (0..<100).map { Array(schedule.globalIndices(step: $0)) }
        await withTaskGroup(of: Bool.self) { group in
            for task in 0..<4 {
                let copy = schedule
                group.addTask {
                    // Each task walks the steps from a different start, so the cached epoch churns.
                    (0..<100).allSatisfy { i in
                        let step = (i + task * 17) % 100
                        return Array(copy.globalIndices(step: step)) == expected[step]
                    }
                }
            }
            for await agreed in group { #expect(agreed) }
        }
    }
}
