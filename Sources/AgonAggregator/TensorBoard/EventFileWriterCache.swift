// The aggregator's TensorBoard writers, one per source folder, with a bounded number open: a
// run with thousands of sources (or a peer inventing names) must not run out of descriptors.

/// Event file writers by folder, at most `capacity` open; the least recently used is closed
/// (flushed whole) when another must open, and appended to again when its folder is written.
///
/// Each folder keeps one event file for the life of the aggregator: TensorBoard reads a folder's
/// files in name order and does not go back to an earlier file once a later one exists, so a
/// reopened writer continues its own file rather than starting another.
final class EventFileWriterCache {
    /// The most writers open at once.
    let capacity: Int
    private let makeWriter: (String) throws -> EventFileWriter
    private var open: [String: EventFileWriter] = [:]
    /// Folders in order of use, least recent first.
    private var order: [String] = []
    /// The file of every folder written so far, open or not.
    private var files: [String: String] = [:]

    /// A cache of at most `capacity` open writers; `makeWriter(folder)` makes a folder's first.
    init(capacity: Int, makeWriter: @escaping (String) throws -> EventFileWriter) {
        precondition(capacity >= 1, "the writer cache holds at least 1 writer, got \(capacity)")
        self.capacity = capacity
        self.makeWriter = makeWriter
    }

    deinit { closeAll() }

    /// How many writers are open now.
    var openCount: Int { open.count }

    /// The writer of `folder`: the open one, its file reopened, or a new one.
    func writer(for folder: String) throws -> EventFileWriter {
        if let writer = open[folder] {
            if order.last != folder, let index = order.lastIndex(of: folder) {
                order.remove(at: index)
                order.append(folder)
            }
            return writer
        }
        while open.count >= capacity, !order.isEmpty {
            open.removeValue(forKey: order.removeFirst())?.close()
        }
        let writer = try files[folder].map { try EventFileWriter(appendingTo: $0) } ?? makeWriter(folder)
        files[folder] = writer.path
        open[folder] = writer
        order.append(folder)
        return writer
    }

    /// Closes every open writer (each flushes what it holds).
    func closeAll() {
        for writer in open.values { writer.close() }
        open.removeAll()
        order.removeAll()
    }
}
