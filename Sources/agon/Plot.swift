// `agon plot RUN`: draws everything again from RUN/run.db: charts, sample grids, timeline, report.
import AgonAggregator
import AgonRunStore
import ArgumentParser

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Render a run's charts, sample grids and report from its run.db.")

    @Argument(help: "The run folder (holding run.db).")
    var runDirectory: String

    func run() throws {
        let store = try RunStore(path: runDirectory + "/run.db", readOnly: true)
        try Renderer(store: store, runDirectory: runDirectory).renderAll(live: false)
        print("wrote \(runDirectory)/plots/, \(runDirectory)/samples/ and \(runDirectory)/report.html")
    }
}
