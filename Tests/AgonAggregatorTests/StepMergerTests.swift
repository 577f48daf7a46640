// StepMerger at the ends of Int64: steps an older build stored, or a source sent before
// validation, must not overflow the merger's arithmetic.
@testable import AgonAggregator
import Testing

@Suite struct StepMergerTests {
    @Test("a step at Int64.max, then a normal one, then Int64.min: no overflow, each step handed on once")
    func extremeStepsDoNotOverflow() {
        var merger = StepMerger()
        var handed: [Int64] = []
        handed += merger.add(worker: "w0", step: .max, values: ["g_loss": 1]).map(\.step)
        handed += merger.add(worker: "w0", step: 5, values: ["g_loss": 2]).map(\.step)
        handed += merger.add(worker: "w1", step: -3, values: ["g_loss": 3]).map(\.step)
        handed += merger.add(worker: "w1", step: .min, values: ["g_loss": 4]).map(\.step)
        handed += merger.flush().map(\.step)
        #expect(handed.contains(.max))
        #expect(Set(handed).count == handed.count, "a step handed on twice: \(handed)")
    }

    @Test("ordinary lockstep workers still complete each step when both have passed it")
    func lockstepStepsComplete() {
        var merger = StepMerger()
        #expect(merger.add(worker: "a", step: 0, values: [:]).map(\.step) == [0])
        #expect(merger.add(worker: "b", step: 0, values: [:]).isEmpty, "step 0 was handed on already")
        #expect(merger.add(worker: "a", step: 1, values: [:]).isEmpty, "b holds step 1 back")
        #expect(merger.add(worker: "b", step: 2, values: [:]).map(\.step) == [1])
    }
}
