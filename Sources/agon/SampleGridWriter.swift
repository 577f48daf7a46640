// The coordinator's sample grids, encoded and written on a thread of their own: a grid's PNG
// and its synced write (17 ms after step 2,000 in one traced run) would otherwise hold up the
// step it follows, with every worker waiting. The coordinator's thread, the only one that
// sends events, sends each grid on and only then has its file written: a grid on disk is one
// the event spool already holds, whenever the process is killed.
import AgonNN
import AgonPlot
import AgonTensor
import Foundation

/// Encodes grids in the background and keeps each PNG until the coordinator's thread takes it to
/// send to the aggregator; `save` then writes `RUN/samples/step-NNNNNNNN.png`, in the background too.
final class SampleGridWriter: @unchecked Sendable {
    /// A grid written, ready to be sent.
    struct Written {
        let step: Int
        let width: Int
        let height: Int
        let png: [UInt8]
    }

    private let runDirectory: String
    private let log: @Sendable (String) -> Void
    private let queue = DispatchQueue(label: "agon.sample-grids")
    /// Guards `written`.
    private let lock = NSLock()
    private var written: [Written] = []

    init(runDirectory: String, log: @escaping @Sendable (String) -> Void) {
        self.runDirectory = runDirectory
        self.log = log
    }

    /// Queues the grid of G's `images` after `step` (copied now: the caller's tensor may change).
    func write(_ images: Tensor, step: Int) {
        let pixels = images.scalars, count = images.rows, height = images.shape[1], width = images.shape[2]
        queue.async { [self] in
            do {
                let grid = ImageGrid(images: pixels, count: count, height: height, width: width)
                let png = try grid.pngData()
                lock.withLock { written.append(Written(step: step, width: grid.pixelWidth, height: grid.pixelHeight, png: png)) }
            } catch {
                log("coordinator: sample grid after step \(step): \(error)")
            }
        }
    }

    /// Writes a grid taken with `takeWritten` to its file, in the background.
    func save(_ grid: Written) {
        queue.async { [self] in
            do {
                try writeFileAtomically(grid.png, to: try sampleGridPath(step: grid.step, runDirectory: runDirectory))
            } catch {
                log("coordinator: sample grid after step \(grid.step): \(error)")
            }
        }
    }

    /// Waits until every queued encoding and file write is done.
    func drain() { queue.sync {} }

    /// Whether the grid of `step` is on disk.
    func exists(step: Int) -> Bool {
        FileManager.default.fileExists(atPath: sampleGridFile(step: step, runDirectory: runDirectory))
    }

    /// The grids encoded since the last call, oldest first.
    func takeWritten() -> [Written] {
        lock.withLock {
            defer { written.removeAll() }
            return written
        }
    }

    /// Waits for every queued grid, and returns those not yet taken.
    func finish() -> [Written] {
        drain()
        return takeWritten()
    }
}
