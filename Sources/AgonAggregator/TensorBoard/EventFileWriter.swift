// Writes one TensorBoard event file: scalars and images as framed `Event` records, appended
// whole, so TensorBoard can read the file while Agon is still writing it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a TensorBoard event file, `events.out.tfevents.<time>.<host>.<pid>.<index>`.
///
/// Records are buffered in memory and written whole by `flush()` (and by the `add` methods
/// once a megabyte is buffered), with `O_APPEND`; a write that fails part way is cut back to the
/// last whole record, and its records stay buffered for the next `flush()`. So a reader sees
/// whole records only, or, after a crash in the middle of a write, a truncated last record that
/// TensorBoard skips. `flush()` does not fsync: TensorBoard sees the records at once, and a
/// machine crash loses at most what the page cache held.
///
/// Give each writer its own folder: TensorBoard's default loader keeps one value per step and
/// tag in a folder, and silently drops a second writer's data. Not thread-safe: use one writer
/// from one task at a time.
public final class EventFileWriter {
    /// The event file's full path.
    public let path: String
    /// The file's descriptor, or -1 once closed.
    private var descriptor: Int32
    /// Whole records not yet written.
    private var pending: [UInt8] = []
    /// The file's size after the last successful flush: a failed write is cut back to it.
    private var committedSize: off_t = 0

    /// The size of buffered records past which `add` methods flush by themselves.
    static let flushThreshold = 1 << 20

    /// Creates `directory` (and its parents) if needed, creates the event file in it, and writes
    /// the first record, `Event{wall_time, file_version: "brain.Event:2"}`.
    ///
    /// - Parameters:
    ///   - directory: The run's folder; TensorBoard shows each folder under its log dir as a run.
    ///   - wallTime: Seconds since the Unix epoch, finite and not negative: the name's time and
    ///     the first record's `wall_time`.
    ///   - host: The host name, as `gethostname` gives it.
    ///   - pid: The writing process's id.
    ///   - index: Distinguishes files one process opens in the same second; not negative.
    /// - Throws: `TensorBoardError` if the host name has a "/" or is empty, the folder cannot be
    ///   made, the file already exists, or the first record cannot be written.
    public init(directory: String, wallTime: Double, host: String, pid: Int32, index: Int = 0) throws {
        precondition(wallTime.isFinite && wallTime >= 0, "wall time \(wallTime) must be finite and not negative")
        precondition(index >= 0, "event file index \(index) must not be negative")
        guard !host.isEmpty, !host.contains("/"), !host.utf8.contains(0) else {
            throw TensorBoardError(.invalidHostName, "\(directory): host name \"\(host)\" cannot be part of an event file name; pass one without \"/\"")
        }
        try makeDirectories(directory)
        let name = Self.fileName(wallTime: wallTime, host: host, pid: pid, index: index)
        path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST {
                throw TensorBoardError(.fileExists, "\(path) already exists: give each writer its own folder, or another index", posixCode: code)
            }
            throw TensorBoardError(.io, "cannot create event file \(path)", posixCode: code)
        }
        do {
            try add(EventProtobuf.Event(wallTime: wallTime, content: .fileVersion("brain.Event:2")))
            try flush()
        } catch {
            closeDescriptor(descriptor)
            descriptor = -1
            throw error
        }
    }

    /// Opens the event file at `path`, which an `EventFileWriter` of this process wrote and
    /// closed whole, to append more records to it: a writer closed to bound the open files
    /// (`EventFileWriterCache`) continues its own file, so that its folder keeps one file.
    ///
    /// - Throws: `TensorBoardError(.io)` if the file cannot be opened or is not a regular file.
    public init(appendingTo path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw TensorBoardError(.io, "cannot reopen event file \(path)", posixCode: errno) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            closeDescriptor(descriptor)
            descriptor = -1
            throw TensorBoardError(.io, "\(path) is not a regular file; cannot append events to it", posixCode: EINVAL)
        }
        committedSize = status.st_size
    }

    deinit {
        close()
    }

    /// The event file name TensorFlow's writers use:
    /// `events.out.tfevents.<10-digit unix time>.<host>.<pid>.<index>`.
    public static func fileName(wallTime: Double, host: String, pid: Int32, index: Int = 0) -> String {
        precondition(wallTime.isFinite && wallTime >= 0, "wall time \(wallTime) must be finite and not negative")
        let seconds = String(Int64(wallTime.rounded(.down)))
        let padded = String(repeating: "0", count: max(0, 10 - seconds.count)) + seconds
        return "events.out.tfevents.\(padded).\(host).\(pid).\(index)"
    }

    /// Adds one event holding all of `values` as float32 `simple_value` scalars, in order.
    /// An empty list adds nothing.
    ///
    /// - Throws: `TensorBoardError` if the writer is closed, or an automatic flush fails.
    public func addScalars(step: Int64, wallTime: Double, _ values: [(tag: String, value: Float)]) throws {
        guard !values.isEmpty else { return }
        let summary = EventProtobuf.Summary(values: values.map { .init(tag: $0.tag, content: .simpleValue($0.value)) })
        try add(EventProtobuf.Event(wallTime: wallTime, step: step, content: .summary(summary)))
    }

    /// Adds one event holding one image, already encoded as PNG.
    ///
    /// - Parameters:
    ///   - width: The image's width in pixels, 1 to `Int32.max`.
    ///   - height: The image's height in pixels, 1 to `Int32.max`.
    ///   - colorspace: 1 gray, 2 gray and alpha, 3 RGB, 4 RGBA.
    ///   - png: The PNG file's bytes.
    /// - Throws: `TensorBoardError` if the writer is closed, or an automatic flush fails.
    public func addImage(step: Int64, wallTime: Double, tag: String, width: Int, height: Int, colorspace: Int, png: [UInt8]) throws {
        precondition((1...Int(Int32.max)).contains(width) && (1...Int(Int32.max)).contains(height),
                     "image \(tag) is \(width)×\(height); each side must be 1 to \(Int32.max) pixels")
        precondition((1...4).contains(colorspace), "image \(tag) has colorspace \(colorspace); use 1 gray, 2 gray+alpha, 3 RGB or 4 RGBA")
        let image = EventProtobuf.Summary.Image(height: Int32(height), width: Int32(width), colorspace: Int32(colorspace), encodedImage: png)
        let summary = EventProtobuf.Summary(values: [.init(tag: tag, content: .image(image))])
        try add(EventProtobuf.Event(wallTime: wallTime, step: step, content: .summary(summary)))
    }

    /// Adds `event` as one record; `flush()` writes it.
    ///
    /// - Throws: `TensorBoardError` if the writer is closed, or an automatic flush fails (the
    ///   event then stays buffered).
    public func add(_ event: EventProtobuf.Event) throws {
        guard descriptor >= 0 else { throw TensorBoardError(.closed, "\(path) is closed; open a new EventFileWriter") }
        TFRecord.append(event.encoded(), to: &pending)
        if pending.count >= Self.flushThreshold { try flush() }
    }

    /// Writes every buffered record to the file, whole.
    ///
    /// - Throws: `TensorBoardError(.io)` if a write fails; the file is cut back to its last whole
    ///   record and the records stay buffered, so a later `flush()` can retry them.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        guard descriptor >= 0 else { throw TensorBoardError(.closed, "\(path) is closed; open a new EventFileWriter") }
        var written = 0
        while written < pending.count {
            let count = pending.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, pending.count - written) }
            if count >= 0 {
                written += count
                continue
            }
            let code = errno
            if code == EINTR { continue }
            // Cut a torn record off, so the records written after it stay readable.
            let restored = written == 0 || ftruncate(descriptor, committedSize) == 0
            let tail = restored ? "the records stay buffered for the next flush"
                : "cutting it back failed too, so the file ends in a torn record"
            throw TensorBoardError(.io, "cannot write \(pending.count) bytes of records to \(path) (\(written) written); \(tail)", posixCode: code)
        }
        committedSize += off_t(written)
        pending.removeAll(keepingCapacity: true)
    }

    /// Flushes what it can and closes the file. Call `flush()` first to learn of a failed write:
    /// records `close()` cannot write are dropped. Closing twice does nothing.
    public func close() {
        guard descriptor >= 0 else { return }
        try? flush()
        closeDescriptor(descriptor)
        descriptor = -1
        pending = []
    }
}

/// Closes `descriptor`; a free function because `EventFileWriter.close()` hides the system call.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// Makes `directory` and any missing parents, like `mkdir -p`.
private func makeDirectories(_ directory: String) throws {
    var prefix = directory.hasPrefix("/") ? "/" : ""
    for component in directory.split(separator: "/") {
        prefix += component
        if mkdir(prefix, 0o755) != 0, errno != EEXIST {
            throw TensorBoardError(.directory, "cannot create log folder \(prefix) for \(directory)", posixCode: errno)
        }
        prefix += "/"
    }
    var status = stat()
    guard stat(directory, &status) == 0 else {
        throw TensorBoardError(.directory, "cannot use log folder \(directory)", posixCode: errno)
    }
    guard (status.st_mode & S_IFMT) == S_IFDIR else {
        throw TensorBoardError(.directory, "\(directory) is a file, not a folder; pass a folder for the event file", posixCode: ENOTDIR)
    }
}
