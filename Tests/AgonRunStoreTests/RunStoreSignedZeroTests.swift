// −0.0 through run.db: SQLite writes an integral REAL as an integer, which has no sign, so the
// store keeps −0.0 apart (docs/RUNSTORE.md, "Signed zero").
import AgonRunStore
import Testing

@Suite struct RunStoreSignedZeroTests {
    @Test("−0.0 comes back as −0.0 from every read; +0.0, NaN and ordinary values as they went in")
    func negativeZeroSurvives() throws {
        let folder = try TemporaryFolder()
        let store = try RunStore(path: folder.path())
        let values: [Double] = [-0.0, 0.0, 1.5, -2.0, .nan, .infinity, -.infinity]
        try store.append(values.enumerated().map { index, value in
            RunEvent(worker: "w", seq: Int64(index), step: Int64(index), wallTime: 1, payload: .scalars([ScalarValue(tag: "x", value: value)]))
        })
        let series = try store.scalars(tag: "x", worker: "w").values
        let replayed = try store.scalarEvents(worker: "w", from: 0).map { $0.values[0].value }
        for read in [series, replayed] {
            #expect(read.count == values.count)
            for (got, want) in zip(read, values) {
                #expect(got.bitPattern == want.bitPattern || (got.isNaN && want.isNaN), "\(want) came back as \(got)")
            }
        }
        let reopened = try RunStore(path: folder.path(), readOnly: true)
        #expect(try reopened.scalars(tag: "x", worker: "w").values[0].sign == .minus)
    }
}
