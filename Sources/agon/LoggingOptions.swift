// What a role says and how: `--log-level` and `--log-format` for every long-running command,
// and `--progress-every` for a coordinator or aggregator that a person or a cluster started.
import ArgumentParser
import Foundation
import Logging

/// How each line is written to standard error.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Each line as it always was: the words only.
    case text
    /// One JSON object per line (time, level, role, rank, step, message), for a log collector.
    case json
}

/// The least severe level written; an option value that names one of swift-log's levels.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case debug, info, warning, error

    var level: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }
}

/// `--log-level` and `--log-format`, shared by `agon run`, `train`, `coordinator`, `worker`
/// and `aggregator`.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Write lines of this level and above: debug (every step's details), info, warning or error.")
    var logLevel: LogLevelOption = .info

    @Option(help: "text: each line as words (the default); json: one object per line with time, level, role, rank, step and message, for a log collector.")
    var logFormat: LogFormat = .text

    /// Whether progress may be drawn as a bar redrawn in place: standard error is a terminal and
    /// every line is plain text (a JSON log stays one object per line).
    var drawsOnTerminal: Bool { isatty(STDERR_FILENO) == 1 && logFormat == .text }

    /// The same options for a child process (`agon run` passes them on).
    var arguments: [String] { ["--log-level", logLevel.rawValue, "--log-format", logFormat.rawValue] }
}

/// How often a coordinator or an aggregator says what it is doing.
struct ProgressOptions: ParsableArguments {
    @Option(help: "Seconds between progress lines (coordinator: step, samples/s, workers, ETA; aggregator: sources and events stored); 0: none.")
    var progressEvery: Double = 10

    func validate() throws {
        guard progressEvery >= 0 && progressEvery.isFinite else {
            throw ValidationError("--progress-every must be 0 (no progress lines) or a number of seconds, got \(progressEvery)")
        }
    }
}

/// A command whose lines go through swift-log at its `--log-level`, in its `--log-format`.
protocol LoggingCommand {
    var logging: LoggingOptions { get }
    /// The `role` of its JSON records.
    static var role: String { get }
}

extension CoordinatorCommand: LoggingCommand { static var role: String { "coordinator" } }
extension WorkerCommand: LoggingCommand { static var role: String { "worker" } }
extension AggregatorCommand: LoggingCommand { static var role: String { "aggregator" } }
extension Run: LoggingCommand { static var role: String { "run" } }
extension Train: LoggingCommand { static var role: String { "train" } }
