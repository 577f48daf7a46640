// The `agon` command line: one thin subcommand per verb, each parsing into a configuration
// and handing it to the library targets.
import ArgumentParser
import CAgonKernels
import Foundation

@main
struct Agon: ParsableCommand {
    /// Parses and runs a subcommand. ArgumentParser reports its own errors (usage, exit 64;
    /// `ExitCode`; help); any other error is a failure at run time: one `Error:` line, no usage, exit 1.
    static func main() {
        keepLargeBuffersMapped()
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        ProcessLog.bootstrap(for: command)
        do {
            try command.run()
        } catch let error as ValidationError {
            // A usage error found at run time (data too small for --batch): with the subcommand's
            // usage, where ArgumentParser would show the root's.
            logLine("Error: \(error.message)")
            if (command as? LoggingCommand)?.logging.logFormat != .json {
                let usage = usageString(for: type(of: command))
                FileHandle.standardError.write(Data("\(usage.hasPrefix("Usage:") ? "" : "Usage: ")\(usage)\n".utf8))
            }
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // `agon help run` and `--help` parse into ArgumentParser's help command, whose run()
            // throws its own (internal) error type: ArgumentParser prints the help and exits 0.
            exit(withError: error)
        } catch {
            logLine("Error: \(oneLineDescription(of: error))")
            Foundation.exit(1)
        }
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
