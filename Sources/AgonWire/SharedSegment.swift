// The shared-memory lane: a file in /dev/shm mapped by a worker and the coordinator on the
// same machine, so that a step's megabytes of gradients and parameters cross between them
// without a socket. ZeroMQ still carries every message; only the Float32 payload moves here.
// docs/PROTOCOL.md ("The shared-memory lane") describes the layout and the hand-shake.
import CAgonKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mapped segment of Float32 values with a header that proves which segment it is (a random
/// token that travels in the offer) and a sequence lock that tells a reader whether what it
/// read was written whole.
///
/// Layout (little-endian, 4096-byte header so the values are page-aligned):
/// bytes 0..<8 the magic `AGONSHM1`; 8..<24 the token; 24..<32 the value count (Int64);
/// 32..<40 the sequence (UInt64: odd while a write is in progress); 40..<72 the sequences of
/// parts 0 to 3 (each the sequence that ended the last write to that part, odd while one is in
/// progress); values from byte 4096.
///
/// Parts are ranges of the values that the two sides agree on (the parameter segment's part 0
/// is G's, part 1 D's): a write names the parts it rewrites, so that a reader of another part
/// is not told that its read was overtaken.
///
/// A segment is used by one thread at a time in each process (`@unchecked Sendable` so that
/// it may be handed between threads).
public final class SharedSegment: @unchecked Sendable {
    /// The file's path, `/dev/shm/agon-ROLE-PID-RANDOM`; it may already be unlinked.
    public let path: String
    /// The 16 random bytes written in the header, which a peer must quote to open it.
    public let token: [UInt8]
    /// The number of Float32 values the segment holds.
    public let count: Int
    /// Whether this process maps it for writing.
    public let writable: Bool

    private let base: UnsafeMutableRawPointer
    private let bytes: Int

    /// Where segments live: a tmpfs on Linux.
    public static let directory = "/dev/shm"
    static let magic: [UInt8] = Array("AGONSHM1".utf8)
    static let headerBytes = 4096
    private static let sequenceOffset = 32
    /// The number of parts a write may name.
    public static let partCount = 4

    private init(path: String, token: [UInt8], count: Int, writable: Bool, base: UnsafeMutableRawPointer, bytes: Int) {
        self.path = path
        self.token = token
        self.count = count
        self.writable = writable
        self.base = base
        self.bytes = bytes
    }

    deinit {
        if !writable { ShrinkGuard.unregister(base) }
        munmap(base, bytes)
    }

    /// Makes a new segment of `count` values for this process to write, readable and writable
    /// by this user only: `/dev/shm/agon-ROLE-PID-RANDOM`.
    ///
    /// - Throws: `WireError` with code `.io(errno)` naming the path if it cannot be created,
    ///   sized (a full /dev/shm) or mapped.
    public static func create(role: String, count: Int) throws(WireError) -> SharedSegment {
        precondition(count >= 1, "a shared segment holds at least 1 value, got \(count)")
        let token = randomBytes(16)
        let path = "\(directory)/agon-\(role)-\(getpid())-\(hex(randomBytes(6)))"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WireError.io("\(path): creating the shared-memory segment", errno: errno) }
        defer { Glibc.close(fd) }
        let bytes = headerBytes + count * MemoryLayout<Float>.size
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            let number = errno
            _ = Glibc.unlink(path)
            throw WireError.io("\(path): sizing the shared-memory segment to \(bytes) bytes", errno: number)
        }
        guard let base = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            let number = errno
            _ = Glibc.unlink(path)
            throw WireError.io("\(path): mapping the shared-memory segment", errno: number)
        }
        base.copyMemory(from: magic, byteCount: 8)
        (base + 8).copyMemory(from: token, byteCount: 16)
        base.storeBytes(of: Int64(count).littleEndian, toByteOffset: 24, as: Int64.self)
        return SharedSegment(path: path, token: token, count: count, writable: true, base: base, bytes: bytes)
    }

    /// Maps a segment another process made, for reading, if it is the one described: a regular
    /// file of this user at a path of the pattern `/dev/shm/agon-ROLE-PID-HEX` (ROLE lower-case
    /// letters and digits, PID decimal, HEX 12 lower-case hex digits, as `create` names them),
    /// holding `count` values and carrying `token`.
    ///
    /// The file is opened without following a symlink and without blocking (a FIFO is refused,
    /// not waited on). The mapping is guarded: should the file shrink under it later (another
    /// process truncates it), a read of the lost pages gets zeros instead of SIGBUS, and
    /// ``isIntact`` turns false.
    ///
    /// - Throws: `WireError` with code `.io(errno)` if the file cannot be opened or mapped
    ///   (another machine, already removed), `.malformed` if it is not that segment (a path
    ///   outside the pattern, not a regular file, another user's, another size, header, token).
    public static func open(path: String, token: [UInt8], count: Int) throws(WireError) -> SharedSegment {
        guard isSegmentPath(path), count >= 1 else {
            throw WireError(.malformed, "\(path): not an agon shared-memory segment path, \(directory)/agon-ROLE-PID-HEX (or a count of \(count))")
        }
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw WireError.io("\(path): opening the shared-memory segment", errno: errno) }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw WireError.io("\(path): reading the shared-memory segment's status", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw WireError(.malformed, "\(path): not a regular file") }
        guard info.st_uid == geteuid() else {
            throw WireError(.malformed, "\(path): owned by uid \(info.st_uid), not by this process's user (uid \(geteuid()))")
        }
        let bytes = headerBytes + count * MemoryLayout<Float>.size
        guard Int(info.st_size) == bytes else {
            throw WireError(.malformed, "\(path): the segment is not \(bytes) bytes long (\(count) values)")
        }
        guard let base = mmap(nil, bytes, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw WireError.io("\(path): mapping the shared-memory segment", errno: errno)
        }
        // Guarded before the first read: the file may shrink between fstat and here.
        guard ShrinkGuard.register(base, bytes: bytes) else {
            munmap(base, bytes)
            throw WireError(.malformed, "\(path): \(ShrinkGuard.capacity) shared-memory segments are open already")
        }
        let header = Array(UnsafeRawBufferPointer(start: base, count: 32))
        guard Array(header[0..<8]) == magic, Array(header[8..<24]) == token,
              Int64(littleEndian: base.loadUnaligned(fromByteOffset: 24, as: Int64.self)) == Int64(count) else {
            ShrinkGuard.unregister(base)
            munmap(base, bytes)
            throw WireError(.malformed, "\(path): the segment's header does not match the offer (magic, token or count)")
        }
        return SharedSegment(path: path, token: token, count: count, writable: false, base: base, bytes: bytes)
    }

    /// Whether `path` is `/dev/shm/agon-ROLE-PID-HEX`: ROLE 1 to 32 lower-case letters and
    /// digits, PID 1 to 10 decimal digits, HEX 12 lower-case hex digits.
    public static func isSegmentPath(_ path: String) -> Bool {
        guard path.hasPrefix(directory + "/agon-") else { return false }
        let parts = path.dropFirst(directory.count + 6).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return false }
        let lowerAlphanumeric = { (c: Character) in c.isASCII && (c.isLowercase || c.isNumber) }
        return (1...32).contains(parts[0].count) && parts[0].allSatisfy(lowerAlphanumeric)
            && (1...10).contains(parts[1].count) && parts[1].allSatisfy { $0.isASCII && $0.isNumber }
            && parts[2].count == 12 && parts[2].allSatisfy { $0.isASCII && $0.isHexDigit && !$0.isUppercase }
    }

    /// False once a read of this (read-only) mapping met a file that had shrunk under it: what
    /// was read past the new end was zeros, not the writer's values. Drop such a segment.
    public var isIntact: Bool { writable || !ShrinkGuard.isDamaged(base) }

    /// Removes the file name; the mappings stay until both sides let go. Idempotent.
    public func unlink() { _ = Glibc.unlink(path) }

    /// The values, for a writer to fill directly (gradients packed straight in).
    public var values: UnsafeMutablePointer<Float> {
        precondition(writable, "\(path) is mapped read-only here")
        return (base + Self.headerBytes).assumingMemoryBound(to: Float.self)
    }

    /// The values, for a reader.
    public var readableValues: UnsafePointer<Float> {
        UnsafePointer((base + Self.headerBytes).assumingMemoryBound(to: Float.self))
    }

    private var sequence: UnsafeMutablePointer<UInt64> {
        (base + Self.sequenceOffset).assumingMemoryBound(to: UInt64.self)
    }

    private func partSequence(_ part: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(part >= 0 && part < Self.partCount, "a shared segment has parts 0..<\(Self.partCount), not \(part)")
        return (base + Self.sequenceOffset + 8 * (1 + part)).assumingMemoryBound(to: UInt64.self)
    }

    /// The current sequence number: even between writes.
    public var currentSequence: UInt64 { agon_load_acquire_u64(sequence) }

    /// Writes the values under the sequence lock and returns the new (even) sequence number,
    /// which the message announcing the values carries. `parts` names the parts `write`
    /// rewrites (all of them by default).
    @discardableResult
    public func publish(parts: [Int] = Array(0..<partCount), _ write: (UnsafeMutablePointer<Float>) -> Void) -> UInt64 {
        let start = agon_load_relaxed_u64(sequence)
        for part in parts { agon_store_relaxed_u64(partSequence(part), start | 1) }
        agon_store_relaxed_u64(sequence, start | 1)
        agon_fence_release()
        write(values)
        let next = (start | 1) + 1
        for part in parts { agon_store_release_u64(partSequence(part), next) }
        agon_store_release_u64(sequence, next)
        return next
    }

    /// Reads part `part` as it stood at sequence `expected`: false, with `read` having seen
    /// values that must be discarded, if that part was written after `expected` or during the
    /// read. Writes to other parts do not matter.
    public func read(part: Int, atSequence expected: UInt64, _ read: (UnsafePointer<Float>) -> Void) -> Bool {
        let before = agon_load_acquire_u64(partSequence(part))
        guard before & 1 == 0, before <= expected else { return false }
        read(readableValues)
        agon_fence_acquire()
        return agon_load_relaxed_u64(partSequence(part)) == before
    }

    /// Reads the values as written at sequence `expected`: false, with `read` having seen
    /// values that must be discarded, if a write began before or during the read.
    public func read(atSequence expected: UInt64, _ read: (UnsafePointer<Float>) -> Void) -> Bool {
        guard agon_load_acquire_u64(sequence) == expected else { return false }
        read(readableValues)
        agon_fence_acquire()
        return agon_load_relaxed_u64(sequence) == expected
    }

    /// Removes the segments of `role` left in /dev/shm by agon processes that no longer run
    /// (killed before they could remove their own); returns how many.
    @discardableResult
    public static func removeAbandoned(role: String) -> Int {
        guard let dir = opendir(directory) else { return 0 }
        defer { closedir(dir) }
        var removed = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "agon", parts[1] == role, let pid = pid_t(parts[2]), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH, Glibc.unlink("\(directory)/\(name)") == 0 { removed += 1 }
        }
        return removed
    }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// The read-only mappings of other processes' segments, and a SIGBUS handler that survives a
/// file shrinking under one: it maps zero pages over that whole mapping (as libwayland's
/// `wl_shm` does for client pools), marks it damaged, and lets the read go on. A SIGBUS
/// anywhere else goes to the handler that was there before (the Swift runtime's crash
/// report, or the default action). The cost is nothing on the read path: no check, no copy.
///
/// A signal handler can reach only global state, hence the fixed table of slots (start,
/// length, damaged), written under a mutex and read by the handler with atomic loads.
private enum ShrinkGuard {
    static let capacity = 256
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UInt64> = {
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity * 3)
        slots.initialize(repeating: 0, count: capacity * 3)
        return slots
    }()
    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        return mutex
    }()
    nonisolated(unsafe) static let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 1)
    /// Installs the handler once, keeping the previous one in `previous`.
    static let installed: Bool = {
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = shrinkGuardHandler
        action.sa_flags = SA_SIGINFO | SA_ONSTACK
        sigemptyset(&action.sa_mask)
        return sigaction(SIGBUS, &action, previous) == 0
    }()

    /// Adds a mapping; false if the table is full or the handler could not be installed.
    static func register(_ base: UnsafeMutableRawPointer, bytes: Int) -> Bool {
        guard installed else { return false }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        for slot in 0..<capacity where agon_load_relaxed_u64(slots + 3 * slot) == 0 {
            agon_store_relaxed_u64(slots + 3 * slot + 1, UInt64(bytes))
            agon_store_relaxed_u64(slots + 3 * slot + 2, 0)
            agon_store_release_u64(slots + 3 * slot, UInt64(UInt(bitPattern: base)))
            return true
        }
        return false
    }

    static func unregister(_ base: UnsafeMutableRawPointer) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if let slot = find(UInt64(UInt(bitPattern: base))) { agon_store_release_u64(slots + 3 * slot, 0) }
    }

    static func isDamaged(_ base: UnsafeMutableRawPointer) -> Bool {
        guard let slot = find(UInt64(UInt(bitPattern: base))) else { return false }
        return agon_load_acquire_u64(slots + 3 * slot + 2) != 0
    }

    private static func find(_ start: UInt64) -> Int? {
        (0..<capacity).first { agon_load_acquire_u64(slots + 3 * $0) == start }
    }
}

/// The SIGBUS handler of `ShrinkGuard`: async-signal-safe (atomic loads, mmap, sigaction).
private func shrinkGuardHandler(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    let address = UInt64(UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr))
    let slots = ShrinkGuard.slots
    for slot in 0..<ShrinkGuard.capacity {
        let start = agon_load_acquire_u64(slots + 3 * slot)
        let length = agon_load_relaxed_u64(slots + 3 * slot + 1)
        guard start != 0, address >= start, address - start < length else { continue }
        // Zero pages over the whole mapping, same address: the faulting read then succeeds.
        _ = mmap(UnsafeMutableRawPointer(bitPattern: UInt(start)), Int(length), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
        agon_store_release_u64(slots + 3 * slot + 2, 1)
        return
    }
    // Not a guarded mapping: what would have happened without this handler.
    let previous = ShrinkGuard.previous.pointee
    if previous.sa_flags & SA_SIGINFO != 0, let handler = previous.__sigaction_handler.sa_sigaction {
        handler(signal, info, context)
    } else {
        var restore = previous
        sigaction(SIGBUS, &restore, nil)   // the fault repeats on return, under the old disposition
    }
}
