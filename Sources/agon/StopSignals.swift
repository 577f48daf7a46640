// Ctrl-C and SIGTERM become a StopFlag that the roles' loops check; a child started by
// `agon run` also stops when its parent dies, so no process is left orphaned.
import AgonTraining
import Foundation

/// Signal sources kept alive for the life of the process.
final class StopSignals {
    let flag = StopFlag()
    private var sources: [DispatchSourceSignal] = []
    private var parentWatch: DispatchSourceTimer?

    /// Routes SIGINT and SIGTERM to `flag`; with `parent`, also stops when the parent process
    /// is gone (the child is then re-parented, and `getppid()` changes).
    init(watchingParent parent: Bool = false) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [flag] in flag.stop() }
            source.resume()
            sources.append(source)
        }
        if parent {
            let original = getppid()
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
            timer.setEventHandler { [flag] in if getppid() != original { flag.stop() } }
            timer.resume()
            parentWatch = timer
        }
    }
}

/// Prints one line to standard error.
func logLine(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
