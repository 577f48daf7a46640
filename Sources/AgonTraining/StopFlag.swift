// A flag that asks a long-running loop to finish cleanly: set from a signal handler or another
// thread, read by the loop between steps and polls.
import Synchronization

/// A one-way "please stop" shared between threads.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Asks the loop to stop.
    public func stop() { flag.store(true, ordering: .relaxed) }

    /// True once `stop()` was called.
    public var isStopped: Bool { flag.load(ordering: .relaxed) }
}
