// Every line a role prints goes through swift-log here: as the words alone (text, what Agon
// always printed) or as one JSON object per line (json) with the role, rank and step.
import Foundation
import Logging
import Synchronization

/// Where the process is in the run, for each record: the worker's rank, the last step done.
final class LogPlace: Sendable {
    private let state = Mutex<(rank: Int?, step: Int?)>((nil, nil))

    /// Records the worker's rank (`nil`: leaves it as it is).
    func update(rank: Int? = nil, step: Int? = nil) {
        state.withLock { place in
            if let rank { place.rank = rank }
            if let step { place.step = step }
        }
    }

    var current: (rank: Int?, step: Int?) { state.withLock { $0 } }
}

/// Writes each record to standard error as one line, in `format`.
struct LineLogHandler: LogHandler {
    let format: LogFormat
    /// The `role` field of JSON records (`coordinator`, `worker`, …); `nil` for other commands.
    let role: String?
    let place: LogPlace
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let line = switch format {
        case .text: "\(event.message)"
        case .json: jsonRecord(level: event.level, message: "\(event.message)")
        }
        // One write(2) per line: lines of several threads, and of `agon run`'s children that
        // share this standard error, never interleave within a line.
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// `{"time":"2026-12-08T00:40:12.123Z","level":"info","role":"worker","rank":0,"step":12,"message":"…"}`
    func jsonRecord(level: Logger.Level, message: String, now: timespec = Self.now()) -> String {
        var fields = [("time", Self.quoted(Self.rfc3339(now))), ("level", Self.quoted(level.rawValue))]
        if let role { fields.append(("role", Self.quoted(role))) }
        let (rank, step) = place.current
        if let rank { fields.append(("rank", String(rank))) }
        if let step { fields.append(("step", String(step))) }
        fields.append(("message", Self.quoted(message)))
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-08T00:40:12.123Z`.
    static func rfc3339(_ time: timespec) -> String {
        var seconds = time_t(time.tv_sec), parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(time.tv_nsec / 1_000_000))
    }

    /// `text` as a JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// The process's one log: standard error is one per process, and so is swift-log's
/// `LoggingSystem`, which `Agon.main` sets up once from the parsed command.
enum ProcessLog {
    /// The rank and step that JSON records carry; the roles update it as they learn them.
    static let place = LogPlace()

    /// Sets swift-log's handler for `command`: its `--log-level` and `--log-format` for a
    /// `LoggingCommand`, else every line as text (the commands that have no such options).
    static func bootstrap(for command: Any) {
        let options = (command as? LoggingCommand)?.logging
        let role = (command as? LoggingCommand).map { type(of: $0).role }
        let format = options?.logFormat ?? .text
        let level = options?.logLevel.level ?? .trace
        LoggingSystem.bootstrap { _ in LineLogHandler(format: format, role: role, place: place, logLevel: level) }
    }

    /// The logger every line goes through; made at its first line, after `bootstrap`.
    static let logger = Logger(label: "agon")
}

/// Writes one line to standard error at the level its words call for (`LineLevel`).
func logLine(_ line: String) {
    ProcessLog.logger.log(level: LineLevel.of(line), "\(line)")
}
