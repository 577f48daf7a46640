// `agon export RUN`: the run's events in another format: one CSV of every scalar, or
// TensorBoard event files (one folder per source and `aggregate/` for the cross-worker mean).
import AgonAggregator
import AgonRunStore
import ArgumentParser
import Foundation

struct Export: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, tensorboard }

    static let configuration = CommandConfiguration(abstract: "Export a run's events as CSV or TensorBoard files.")

    @Argument(help: "The run folder (holding run.db).")
    var runDirectory: String

    @Option(help: "csv or tensorboard.")
    var format: Format = .csv

    @Option(help: "Output file (csv) or folder (tensorboard); default RUN/export/scalars.csv or RUN/export/tensorboard.")
    var out: String?

    func run() throws {
        let store = try RunStore(path: runDirectory + "/run.db", readOnly: true)
        switch format {
        case .csv:
            let path = out ?? runDirectory + "/export/scalars.csv"
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            var text = "worker,tag,step,value,wall_time\n"
            var rows = 0
            for tag in try store.tags() {
                for worker in try store.workers() {
                    let series = try store.scalars(tag: tag, worker: worker)
                    for i in series.steps.indices {
                        text += "\(worker),\(tag),\(series.steps[i]),\(series.values[i]),\(series.wallTimes[i])\n"
                        rows += 1
                    }
                }
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            print("wrote \(rows) rows to \(path)")
        case .tensorboard:
            let folder = out ?? runDirectory + "/export/tensorboard"
            let count = try TensorBoardExport(store: store).write(to: folder)
            print("wrote \(count) events under \(folder) (one folder per source, aggregate/ for the cross-worker mean)")
        }
    }
}
