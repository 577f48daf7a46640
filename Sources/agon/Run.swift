// `agon run`: a whole run on one machine. Starts a coordinator and N workers as child
// processes on loopback, shows progress, and stops them all on Ctrl-C or SIGTERM.
import AgonTraining
import ArgumentParser
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train on this machine with a coordinator and N worker processes.",
        discussion: "Each child is this same executable (`agon coordinator …`, `agon worker …`); the run folder gets the coordinator's checkpoints.")

    @OptionGroup var options: TrainingOptions

    @OptionGroup var quality: QualityOptions

    @OptionGroup var logging: LoggingOptions

    @Option(parsing: .unconditional, help: "Worker processes.")
    var workers: Int = 2

    @Option(help: "The run folder.")
    var runDir: String = "runs/run"

    @Option(help: "Seconds the coordinator waits for a straggler after the first gradient of a step.")
    var stepDeadline: Double = 10

    @Flag(help: "Send gradients and parameters through the sockets, not the shared-memory lane.")
    var noSharedMemory = false

    @Flag(help: "Start the run afresh: the run folder's old files are moved to RUN.restarted-DATE, out of the new run.")
    var restart = false

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers)") }
    }

    func run() throws {
        let signals = StopSignals()
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        _ = try options.loadTrainingSet(workers: workers)   // --batch, --classes: before any child starts
        if restart {
            try RunFolder.moveAside(runDir, by: "agon run")
        } else {
            do {
                try RunRecord.checkResumable(runDirectory: runDir, settings: options.configuration, workers: workers)
            } catch let error as TrainingError where error.code == .settingsMismatch {
                logLine("agon run: \(error.message)")
                throw ExitCode(64)
            }
        }
        try RunFolder.prepare(runDir, subfolders: ["checkpoints", "samples"])
        let endpointFile = runDir + "/coordinator.json", aggregatorFile = runDir + "/aggregator.json"
        try? FileManager.default.removeItem(atPath: endpointFile)
        try? FileManager.default.removeItem(atPath: aggregatorFile)

        let progress = ProgressView(interactive: logging.drawsOnTerminal)
        let aggregator = Child(role: "aggregator", executable: executable,
                               arguments: ["aggregator", "--bind", "tcp://127.0.0.1:*", "--run-dir", runDir, "--exit-with-parent",
                                           "--progress-every", "0"] + logging.arguments)
        var children = [aggregator]
        defer { Child.stopAll(children) }
        try aggregator.start()
        let events = try waitForEndpoint(aggregatorFile, of: aggregator, stop: signals.flag)

        let coordinator = Child(role: "coordinator", executable: executable,
                                arguments: ["coordinator", "--bind", "tcp://127.0.0.1:*", "--run-dir", runDir,
                                            "--workers", String(workers), "--step-deadline", String(stepDeadline),
                                            "--aggregator", events, "--progress-json", "--exit-with-parent"]
                                            + (noSharedMemory ? ["--no-shared-memory"] : []) + options.arguments + quality.arguments + logging.arguments,
                                onLine: progress.update)
        children.append(coordinator)
        try coordinator.start()
        let endpoint = try waitForEndpoint(endpointFile, of: coordinator, stop: signals.flag)
        for i in 0..<workers {
            let worker = Child(role: "worker \(i)", executable: executable,
                               arguments: ["worker", "--coordinator", endpoint, "--data", options.data, "--run-dir", runDir,
                                           "--exit-with-parent"] + (noSharedMemory ? ["--no-shared-memory"] : []) + logging.arguments)
            try worker.start()
            children.append(worker)
        }
        logLine("agon run: coordinator on \(endpoint), aggregator on \(events), \(workers) worker(s), run folder \(runDir)")

        while coordinator.isRunning {
            if signals.flag.isStopped {
                progress.finish()
                logLine("agon run: stopping every process")
                Child.stopAll(children)
                throw ExitCode(130)
            }
            let workerChildren = children.dropFirst(2)
            // Workers exit 0 only when the coordinator says the run is over (complete, or stopped
            // at a diverged step); it may then still be measuring sample quality or sending
            // events. Workers that all failed before that leave it nothing to do.
            if workerChildren.allSatisfy({ !$0.isRunning }) && !progress.isComplete && workerChildren.contains(where: { $0.status != 0 }) {
                progress.finish()
                let failed = workerChildren.first { $0.status != 0 }
                throw RuntimeError("every worker has exited\(failed.map { "; \($0.role) exited with status \($0.status)" } ?? "") before the run completed")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        coordinator.waitForOutput()
        progress.finish()
        if coordinator.wasKilled {
            // Killed, it wrote nothing more: stop the others now (they keep what they could not
            // deliver in the spool folder), and the same command again resumes the run.
            Child.stopAll(children)
            throw RuntimeError("the coordinator was killed (status \(coordinator.status)); run the same command again to resume from its last checkpoint")
        }
        // Workers finish sending their last events (a diverged step's too), then the aggregator
        // draws the final plots and raises its last alarms.
        let deadline = Date().addingTimeInterval(35)
        while children.dropFirst(2).contains(where: \.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        for child in children.dropFirst(2) where !child.isRunning && child.status != 0 {
            let how = child.wasKilled ? "was killed (signal \(child.status))" : "ended with status \(child.status)"
            logLine("agon run: \(child.role) \(how); the run went on without it")
        }
        // The coordinator drew the final checkpoint's latent views before it exited: the
        // aggregator's last report, drawn when it stops, embeds them.
        Child.stopAll([aggregator])
        guard coordinator.status == 0 else {
            throw RuntimeError("the coordinator exited with status \(coordinator.status); see its lines above")
        }
        logLine("agon run: done; checkpoints in \(runDir)/checkpoints, plots in \(runDir)/plots, events in \(runDir)/run.db")
    }

    private func waitForEndpoint(_ path: String, of child: Child, stop: StopFlag) throws -> String {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !stop.isStopped {
            if let data = FileManager.default.contents(atPath: path),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let endpoint = object["endpoint"] as? String {
                return endpoint
            }
            guard child.isRunning else {
                throw RuntimeError("the \(child.role) exited with status \(child.status) before listening; see its lines above")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if stop.isStopped { throw ExitCode(130) }   // Ctrl-C while it started
        throw RuntimeError("the \(child.role) did not start listening within 60 s")
    }
}

/// A child process of `agon run`: its standard error passes through; standard output is read
/// line by line when `onLine` is given.
final class Child: @unchecked Sendable {
    let role: String
    private let process = Process()
    private let onLine: (@Sendable (String) -> Void)?
    private let output = Pipe()
    private let reader = DispatchGroup()

    init(role: String, executable: String, arguments: [String], onLine: (@Sendable (String) -> Void)? = nil) {
        self.role = role
        self.onLine = onLine
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if onLine != nil { process.standardOutput = output }
    }

    func start() throws {
        try process.run()
        guard let onLine else { return }
        let handle = output.fileHandleForReading
        DispatchQueue.global().async(group: reader) {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    onLine(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
        }
    }

    var isRunning: Bool { process.isRunning }
    var status: Int32 { process.isRunning ? 0 : process.terminationStatus }
    /// Whether the child ended on a signal it did not handle (kill -9, a crash).
    var wasKilled: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }

    /// Waits until the child's standard output is read to the end.
    func waitForOutput() { reader.wait() }

    /// SIGTERM to every running child, then SIGKILL to any still running after 5 s.
    static func stopAll(_ children: [Child]) {
        for child in children where child.isRunning { child.process.terminate() }
        let deadline = Date().addingTimeInterval(5)
        while children.contains(where: \.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        for child in children where child.isRunning { kill(child.process.processIdentifier, SIGKILL) }
        for child in children { child.process.waitUntilExit() }
    }
}
