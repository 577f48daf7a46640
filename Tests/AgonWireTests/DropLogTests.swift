// DropLog: at most `limit` lines a window, then one line saying how many were left out.
import AgonWire
import Testing

@Suite struct DropLogTests {
    @Test func floodsAreCutAndCounted() {
        var log = DropLog(prefix: "r: ", limit: 3, window: .seconds(10))
        let start = ContinuousClock.now
        var lines: [String] = []
        for index in 0..<15_000 { lines += log.record("dropped \(index)", now: start + .milliseconds(index / 10)) }
        #expect(lines == ["r: dropped 0", "r: dropped 1", "r: dropped 2"])
        #expect(log.suppressed == 14_997)
        let later = log.record("dropped late", now: start + .seconds(11))
        #expect(later == ["r: 14997 more dropped messages were not logged", "r: dropped late"])
    }
}
