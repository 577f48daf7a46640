// The coordinator's sample grids, encoded and written on a thread of their own: a grid's PNG
// and its synced write (17 ms after step 2,000 in one traced run) would otherwise hold up the
// step it follows, with every worker waiting. The coordinator's thread, the only one that
// sends events, sends them on.
import AgonNN
import AgonPlot
import AgonTensor
import Foundation

/// Writes `RUN/samples/step-NNNNNNNN.png` in the background and keeps each grid's PNG until the
/// coordinator's thread takes it to send to the aggregator.
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
                try writeFileAtomically(png, to: try sampleGridPath(step: step, runDirectory: runDirectory))
                lock.withLock { written.append(Written(step: step, width: grid.pixelWidth, height: grid.pixelHeight, png: png)) }
            } catch {
                log("coordinator: sample grid after step \(step): \(error)")
            }
        }
    }

    /// The grids written since the last call, oldest first.
    func takeWritten() -> [Written] {
        lock.withLock {
            defer { written.removeAll() }
            return written
        }
    }

    /// Waits for every queued grid, and returns those not yet taken.
    func finish() -> [Written] {
        queue.sync {}
        return takeWritten()
    }
}
