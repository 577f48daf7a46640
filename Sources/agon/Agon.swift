// The `agon` command line: one thin subcommand per verb, each parsing into a configuration
// and handing it to the library targets.
import ArgumentParser

@main
struct Agon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agon",
        abstract: "Train GANs across processes and see what the training does.",
        subcommands: [Run.self, Train.self, CoordinatorCommand.self, WorkerCommand.self, Keys.self, Bench.self, Inspect.self])
}
