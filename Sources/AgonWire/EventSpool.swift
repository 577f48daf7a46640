// The part of an event source's spool that outlives its process: one file per incarnation,
// `DIR/<source>.<incarnation>.spool`, holding every event sent but not yet acknowledged as the
// `events` messages themselves (each a UInt32 length, then the header bytes). A live process
// holds an exclusive lock on its file; the next start of the same source takes over the files
// nobody holds and sends their events first, under their own incarnation.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One incarnation's spool file, locked by this process while it is open.
final class EventSpoolFile {
    let path: String
    let incarnation: Int64
    private var descriptor: Int32
    /// Bytes in the file now.
    private(set) var size: Int

    /// Opens (creating it when missing) and locks the file of `source`'s `incarnation` in
    /// `directory`; nil when another live process holds it.
    init?(directory: String, source: String, incarnation: Int64) throws(WireError) {
        path = directory + "/" + Self.fileName(source: source, incarnation: incarnation)
        self.incarnation = incarnation
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw WireError(.io(errno), "\(path): cannot open the event spool: \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw WireError(.io(EINVAL), "\(path): the event spool is not a regular file")
        }
        size = Int(status.st_size)
        lseek(descriptor, 0, SEEK_END)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// `<source>.<incarnation>.spool`, with every byte of the name outside `[A-Za-z0-9_-]`
    /// written as `%XX`, so that two names never share a file and none leaves the folder.
    static func fileName(source: String, incarnation: Int64) -> String {
        var name = ""
        for byte in source.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || c == "_" || c == "-" { name.append(c) }
            else { name += String(format: "%%%02X", byte) }
        }
        return name + "." + String(incarnation) + ".spool"
    }

    /// The incarnations of `source` with a spool file in `directory`, oldest first.
    static func incarnations(in directory: String, source: String) -> [Int64] {
        let prefix = fileName(source: source, incarnation: 0).dropLast("0.spool".count)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Int64? in
            guard name.hasPrefix(prefix), name.hasSuffix(".spool") else { return nil }
            return Int64(name.dropFirst(prefix.count).dropLast(".spool".count))
        }.sorted()
    }

    /// Appends `batch` as one record.
    func append(_ batch: EventBatch) throws(WireError) {
        let header = WireMessage.events(batch).encodedHeader()
        var record = [UInt8](repeating: 0, count: 4)
        withUnsafeBytes(of: UInt32(header.count).littleEndian) { record.replaceSubrange(0..<4, with: $0) }
        record += header
        try write(record)
    }

    /// Empties the file (everything in it is acknowledged).
    func truncate() {
        guard size > 0 else { return }
        if ftruncate(descriptor, 0) == 0 { size = 0 }
        lseek(descriptor, 0, SEEK_END)
    }

    /// Replaces the file's records with `batches` (to compact a file of mostly acknowledged events).
    func rewrite(_ batches: [EventBatch]) throws(WireError) {
        truncate()
        for batch in batches { try append(batch) }
    }

    /// Deletes the file and lets go of it.
    func remove() {
        unlink(path)
        close(descriptor)
        descriptor = -1
    }

    /// Every event of `source` in the file, in sequence order, each once; records that cannot
    /// be read (a write cut short by a kill) end the reading and are reported in `skipped`.
    func events(source: String) -> (events: [WireEvent], generation: Int64, skipped: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0, 0) }
        let bytes = [UInt8](data)
        var offset = 0, skipped = 0, generation: Int64 = 0
        var bySeq: [Int64: WireEvent] = [:]
        while offset + 4 <= bytes.count {
            let length = Int(UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
            guard offset + 4 + length <= bytes.count,
                  case .events(let batch)? = try? WireMessage.decode([Array(bytes[(offset + 4)..<(offset + 4 + length)])]),
                  batch.source == source, batch.incarnation == incarnation else {
                skipped += 1
                break
            }
            generation = batch.generation
            for event in batch.events { bySeq[event.seq] = event }
            offset += 4 + length
        }
        if offset < bytes.count && skipped == 0 { skipped = 1 }
        return (bySeq.keys.sorted().map { bySeq[$0]! }, generation, skipped)
    }

    private func write(_ bytes: [UInt8]) throws(WireError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw WireError(.io(errno), "\(path): cannot write the event spool: \(String(cString: strerror(errno)))")
            }
            written += n
        }
        size += bytes.count
    }
}
