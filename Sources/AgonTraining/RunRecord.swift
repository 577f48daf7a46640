// `RUN/run.json`: what a run folder holds, written by whoever trains in it: the settings of the
// run, and every start (generation) of its training with the step it resumed after, the host,
// Agon's version and when it started. A resume compares the settings asked for with these.
import AgonNN
import Foundation

/// Agon's version, recorded with every generation of a run.
public enum AgonVersion {
    public static let string = "0.10.0"
}

/// The settings and generations of one run folder.
public struct RunRecord: Codable, Sendable, Equatable {
    /// One start of the run's training.
    public struct Generation: Codable, Sendable, Equatable {
        public var generation: Int64
        /// The step the start resumed after (0: from the beginning).
        public var resumedFrom: Int
        public var host: String
        public var version: String
        /// Seconds since 1970.
        public var started: Double
        /// What changed from the previous generation's settings, one phrase each.
        public var changes: [String]
    }

    /// The settings of the newest generation.
    public var settings: TrainingConfiguration
    /// Workers the coordinator waits for (1 for `agon train`).
    public var workers: Int
    public var generations: [Generation]

    /// The file's path in `runDirectory`.
    public static func path(in runDirectory: String) -> String { runDirectory + "/run.json" }

    /// The record in `runDirectory`, or nil when there is none.
    public static func load(runDirectory: String) throws -> RunRecord? {
        let path = path(in: runDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(RunRecord.self, from: data)
        } catch {
            throw TrainingError(.unreadableFile, path: path, "is not a run record Agon can read (\(error)); move it away to start the run's record afresh")
        }
    }

    /// The differences between the recorded settings and `settings` for `workers` workers:
    /// those that make a resume impossible (the networks' shapes) and those taken with a word.
    public func differences(from settings: TrainingConfiguration, workers: Int) -> (refused: [String], accepted: [String]) {
        var refused: [String] = [], accepted: [String] = []
        let old = self.settings
        func note<T: Equatable>(_ flag: String, _ a: T, _ b: T, _ show: (T) -> String, into list: inout [String]) {
            if a != b { list.append("\(flag) \(show(a)) → \(show(b))") }
        }
        note("--model", old.model, settings.model, { $0.rawValue }, into: &refused)
        if settings.model == .dcgan {
            note("--width-divisor", old.widthDivisor, settings.widthDivisor, String.init, into: &refused)
        }
        note("--batch", old.batch, settings.batch, String.init, into: &accepted)
        note("--steps", old.steps, settings.steps, { $0.map(String.init) ?? "unset" }, into: &accepted)
        note("--epochs", old.epochs, settings.epochs, { $0.map(String.init) ?? "unset" }, into: &accepted)
        note("--lr", old.learningRate, settings.learningRate, { String($0) }, into: &accepted)
        note("--d-lr", old.discriminatorLearningRate, settings.discriminatorLearningRate, { $0.map { String($0) } ?? "unset" }, into: &accepted)
        note("--seed", old.seed, settings.seed, String.init, into: &accepted)
        note("--update", old.update, settings.update, { $0.rawValue }, into: &accepted)
        note("--classes", old.classes, settings.classes, { $0.map { $0.map(String.init).joined(separator: ",") } ?? "all" }, into: &accepted)
        note("--dropout", old.dropout, settings.dropout, { String($0) }, into: &accepted)
        note("--sample-every", old.sampleEvery, settings.sampleEvery, String.init, into: &accepted)
        note("--checkpoint-every", old.checkpointEvery, settings.checkpointEvery, String.init, into: &accepted)
        note("--workers", self.workers, workers, String.init, into: &accepted)
        return (refused, accepted)
    }

    /// Refuses to go on in `runDirectory` with `settings` when the run recorded there is of other
    /// networks, which its checkpoints could not be loaded into; nothing when there is no record.
    ///
    /// - Throws: `TrainingError.settingsMismatch` naming the differences and the way out.
    public static func checkResumable(runDirectory: String, settings: TrainingConfiguration, workers: Int) throws {
        try load(runDirectory: runDirectory)?.checkResumable(runDirectory: runDirectory, settings: settings, workers: workers)
    }

    private func checkResumable(runDirectory: String, settings: TrainingConfiguration, workers: Int) throws {
        let refused = differences(from: settings, workers: workers).refused
        guard refused.isEmpty else {
            throw TrainingError(.settingsMismatch, path: runDirectory,
                                "holds a run of other networks (\(refused.joined(separator: ", "))); use --restart to start it afresh, or another --run-dir")
        }
    }

    /// Checks `settings` against the record in `runDirectory` (if any) and records a new
    /// generation resuming after `resumedFrom`; returns it and the accepted changes.
    ///
    /// - Throws: `TrainingError.settingsMismatch` naming the differences and the way out when
    ///   the folder's checkpoints are of other networks (only when `resumedFrom > 0`, or the
    ///   folder has checkpoints of its own).
    public static func beginGeneration(runDirectory: String, settings: TrainingConfiguration, workers: Int,
                                       resumedFrom: Int, host: String) throws -> (record: RunRecord, generation: Generation) {
        var record = try load(runDirectory: runDirectory) ?? RunRecord(settings: settings, workers: workers, generations: [])
        try record.checkResumable(runDirectory: runDirectory, settings: settings, workers: workers)
        let accepted = record.differences(from: settings, workers: workers).accepted
        let generation = Generation(generation: (record.generations.last?.generation ?? 0) + 1, resumedFrom: resumedFrom, host: host,
                                    version: AgonVersion.string, started: Date().timeIntervalSince1970, changes: accepted)
        record.settings = settings
        record.workers = workers
        record.generations.append(generation)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeFileAtomically(Array(try encoder.encode(record)), to: path(in: runDirectory))
        return (record, generation)
    }

    /// The settings and this generation as one JSON object, for the run store.
    public func settingsJSON(of generation: Generation) -> String {
        struct Entry: Encodable {
            var settings: TrainingConfiguration
            var workers: Int
            var generation: Generation
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(Entry(settings: settings, workers: workers, generation: generation))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
