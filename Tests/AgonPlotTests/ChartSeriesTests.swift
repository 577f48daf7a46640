// ChartSeries: groups default to the name, split charts in order of first appearance, and
// point counts add up over workers.

import AgonPlot
import Testing

@Suite struct ChartSeriesTests {
    @Test func groupDefaultsToTheName() {
        #expect(ChartSeries(name: "FID", workers: []).group == "FID")
        #expect(ChartSeries(name: "G loss", group: "loss", workers: []).group == "loss")
    }

    @Test func groupedKeepsOrderOfFirstAppearance() {
        let series = [
            ChartSeries(name: "G loss", group: "loss", workers: []),
            ChartSeries(name: "D(x)", group: "D output", workers: []),
            ChartSeries(name: "D loss", group: "loss", workers: []),
            ChartSeries(name: "D(G(z))", group: "D output", workers: []),
            ChartSeries(name: "grad norm", workers: []),
        ]
        let groups = ChartSeries.grouped(series)
        #expect(groups.map(\.group) == ["loss", "D output", "grad norm"])
        #expect(groups.map { $0.series.map(\.name) } == [["G loss", "D loss"], ["D(x)", "D(G(z))"], ["grad norm"]])
    }

    @Test func pointCountAddsUpOverWorkers() {
        let series = ChartSeries(name: "x", workers: [("a", [0, 1, 2], [1, 2, 3]), ("b", [0], [4]), ("c", [], [])])
        #expect(series.pointCount == 4)
    }
}
