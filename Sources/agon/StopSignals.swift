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
        Self.blockInThisThread()
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

    /// Keeps SIGINT and SIGTERM from interrupting this thread, and every thread it starts later.
    ///
    /// A signal handler must never run on a thread that computes: oneDNN 2.x's JIT GEMM kernels
    /// point `rsp` into a heap buffer while they run (oneDNN issue #4845, fixed in 3.11), so a
    /// handler that runs then writes its frame into the heap, and the process later aborts with
    /// "corrupted size vs. prev_size". Blocked here, the signals reach libdispatch's signalfd
    /// (directly, or through its handler on a thread started before this call, such as
    /// OpenBLAS's, which then re-raises them to libdispatch's manager thread).
    static func blockInThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
