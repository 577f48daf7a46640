// The `agon` command line: one thin subcommand per verb, each parsing into a configuration
// and handing it to the library targets.
import ArgumentParser
import CAgonKernels

@main
struct Agon: ParsableCommand {
    static func main() {
        keepLargeBuffersMapped()
        main(nil)
    }

    /// Gradient and parameter messages are megabytes each and arrive every step. glibc serves
    /// such sizes with fresh mmap()s by default, so every message cost thousands of page faults
    /// and zeroed pages (half the time of an averaging round of the DCGAN's 10 MB). This keeps
    /// them on the heap and keeps freed heap memory for the next message.
    private static func keepLargeBuffersMapped() {
        agon_keep_large_buffers()
    }

    static let configuration = CommandConfiguration(
        commandName: "agon",
        abstract: "Train GANs across processes and see what the training does.",
        subcommands: [Run.self, Train.self, CoordinatorCommand.self, WorkerCommand.self, AggregatorCommand.self, Plot.self, Export.self, Eval.self, Latent.self, Keys.self, Bench.self, Inspect.self, ClassifierCommand.self])
}
