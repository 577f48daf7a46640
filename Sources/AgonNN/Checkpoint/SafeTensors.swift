// Checkpoints in the safetensors format (huggingface/safetensors): named F32 tensors and string
// metadata, read strictly, written atomically. The header's JSON parser is in
// SafeTensorsHeaderParser.swift.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AgonTensor

/// Named F32 tensors and string metadata, as stored in a `.safetensors` file.
///
/// The file is an unsigned 64-bit little-endian header length `N`, `N` bytes of UTF-8 JSON,
/// then the tensors' raw little-endian bytes back to back:
/// ```
/// {"__metadata__":{"model":"mlp_gan"},
///  "g/kernel":{"dtype":"F32","shape":[100,128],"data_offsets":[0,51200]}, ...}
/// ```
/// Offsets are relative to the start of the data. The writer puts `__metadata__` first (keys
/// sorted, so output is deterministic), then the tensors in `tensors` order with increasing
/// offsets, and pads the header with spaces to a multiple of 8. Only F32 is supported.
public struct SafeTensors: Sendable {
    /// Free-form string pairs stored under `__metadata__`.
    public var metadata: [String: String]

    /// The tensors in file order. Names must be unique and must not be `__metadata__`.
    public var tensors: [(name: String, tensor: Tensor)] {
        didSet { index = Self.makeIndex(tensors) }
    }

    /// Position of each name in `tensors`, for constant-time lookup.
    private var index: [String: Int]

    /// The largest header length a reader accepts, as in the reference implementation.
    public static let maxHeaderLength = 100_000_000

    /// A checkpoint of `tensors` (in file order) and `metadata`.
    public init(metadata: [String: String] = [:], tensors: [(name: String, tensor: Tensor)] = []) {
        self.metadata = metadata
        self.tensors = tensors
        self.index = Self.makeIndex(tensors)
    }

    /// The tensor called `name`, or nil if there is none.
    public subscript(name: String) -> Tensor? {
        index[name].map { tensors[$0].tensor }
    }

    private static func makeIndex(_ tensors: [(name: String, tensor: Tensor)]) -> [String: Int] {
        var index = [String: Int](minimumCapacity: tensors.count)
        for (position, entry) in tensors.enumerated() {
            precondition(entry.name != "__metadata__", "\"__metadata__\" is reserved and cannot name a tensor")
            precondition(index.updateValue(position, forKey: entry.name) == nil,
                         "tensor name \"\(entry.name)\" appears twice; safetensors names must be unique")
        }
        return index
    }

    // MARK: Encoding

    /// The file's bytes: length, space-padded header, then each tensor's data in order.
    public func encoded() -> [UInt8] {
        var json: [UInt8] = Array("{".utf8)
        if !metadata.isEmpty {
            json += "\"__metadata__\":{".utf8
            for (position, pair) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
                if position > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(pair.key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(pair.value, to: &json)
            }
            json += "}".utf8
        }
        var offset = 0
        for (position, entry) in tensors.enumerated() {
            if position > 0 || !metadata.isEmpty { json.append(UInt8(ascii: ",")) }
            let end = offset + entry.tensor.count * MemoryLayout<Float>.size
            appendJSONString(entry.name, to: &json)
            let shape = entry.tensor.shape.map(String.init).joined(separator: ",")
            json += ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}".utf8
            offset = end
        }
        json += "}".utf8
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
        bytes += json
        for entry in tensors {
            let tensor = entry.tensor
            #if _endian(little)
            bytes += UnsafeRawBufferPointer(start: tensor.pointer, count: tensor.count * MemoryLayout<Float>.size)
            #else
            for i in 0..<tensor.count { withUnsafeBytes(of: tensor[i].bitPattern.littleEndian) { bytes += $0 } }
            #endif
        }
        return bytes
    }

    // MARK: Decoding

    /// Parses a whole file's bytes, rejecting anything the reference reader would reject.
    ///
    /// - Parameter source: names the input in error messages, usually its path.
    /// - Throws: `CheckpointError` saying what is wrong: a short input, a header past the end or
    ///   over 100,000,000 bytes, bad UTF-8 or JSON, non-string metadata, a dtype other than F32,
    ///   offsets that are not contiguous from 0, a size that is not product(shape) × 4, trailing
    ///   bytes, or a name given twice.
    public static func decode(_ bytes: [UInt8], source: String) throws -> SafeTensors {
        guard bytes.count >= 8 else {
            throw CheckpointError(.truncated, "\(source): \(bytes.count) bytes is too short for safetensors, which starts with an 8-byte header length")
        }
        let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maxHeaderLength) else {
            throw CheckpointError(.headerTooLarge, "\(source): header length \(length) exceeds the \(maxHeaderLength)-byte limit; the file is corrupt or not safetensors")
        }
        let dataStart = 8 + Int(length)
        guard dataStart <= bytes.count else {
            throw CheckpointError(.truncated, "\(source): header of \(length) bytes runs past the end of the \(bytes.count)-byte file; the file is truncated")
        }
        let header = Array(bytes[8..<dataStart])
        guard String(validating: header, as: UTF8.self) != nil else {
            throw CheckpointError(.invalidHeader, "\(source): header is not valid UTF-8")
        }
        var parser = SafeTensorsHeaderParser(bytes: header, source: source)
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (key, value) in try parser.parseDocument() {
            if key == "__metadata__" {
                metadata = try parseMetadata(value, source: source)
            } else {
                entries.append(try parseEntry(named: key, value, source: source))
            }
        }

        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var position = 0
        for entry in entries {
            guard entry.begin == position, entry.end >= entry.begin else {
                throw CheckpointError(.invalidOffsets, "\(source): tensor \"\(entry.name)\" has data_offsets [\(entry.begin), \(entry.end)] but the data before it ends at \(position); tensors must be contiguous from 0, without holes or overlaps")
            }
            guard entry.end - entry.begin == entry.byteCount else {
                throw CheckpointError(.sizeMismatch, "\(source): tensor \"\(entry.name)\" of shape \(entry.shape) needs \(entry.byteCount) bytes but data_offsets [\(entry.begin), \(entry.end)] hold \(entry.end - entry.begin)")
            }
            position = entry.end
        }
        let dataLength = bytes.count - dataStart
        guard dataLength >= position else {
            throw CheckpointError(.truncated, "\(source): the tensors need \(position) bytes of data but the file holds \(dataLength); the file is truncated")
        }
        guard dataLength == position else {
            throw CheckpointError(.trailingBytes, "\(source): \(dataLength - position) bytes follow the last tensor's data")
        }

        var tensors: [(name: String, tensor: Tensor)] = []
        tensors.reserveCapacity(entries.count)
        bytes.withUnsafeBytes { raw in
            for entry in entries {
                let tensor = Tensor(zeros: entry.shape)
                let start = dataStart + entry.begin
                #if _endian(little)
                UnsafeMutableRawPointer(tensor.pointer).copyMemory(from: raw.baseAddress! + start, byteCount: entry.byteCount)
                #else
                for i in 0..<tensor.count {
                    let bits = raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)
                    tensor[i] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                #endif
                tensors.append((entry.name, tensor))
            }
        }
        return SafeTensors(metadata: metadata, tensors: tensors)
    }

    /// One tensor's header entry, checked for form but not yet for placement.
    private struct Entry {
        var name: String, shape: [Int], begin: Int, end: Int, byteCount: Int
    }

    private static func parseEntry(named name: String, _ value: SafeTensorsHeaderParser.Value, source: String) throws -> Entry {
        func invalid(_ what: String) -> CheckpointError {
            CheckpointError(.invalidHeader, "\(source): tensor \"\(name)\" \(what)")
        }
        guard case .object(let members) = value else { throw invalid("is \(value.kind), not an object") }
        let field = Dictionary(members, uniquingKeysWith: { first, _ in first })
        guard case .string(let dtype)? = field["dtype"] else { throw invalid("lacks a string \"dtype\"") }
        guard dtype == "F32" else {
            throw CheckpointError(.unsupportedDType, "\(source): tensor \"\(name)\" has dtype \"\(dtype)\"; only F32 is supported, so convert it to float32 first")
        }
        guard let shape = naturals(field["shape"]) else {
            throw invalid("lacks \"shape\", an array of non-negative integers")
        }
        guard let offsets = naturals(field["data_offsets"]), offsets.count == 2 else {
            throw invalid("lacks \"data_offsets\", two non-negative integers")
        }
        var byteCount = MemoryLayout<Float>.size
        for extent in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw CheckpointError(.sizeMismatch, "\(source): tensor \"\(name)\" of shape \(shape) is too large to address") }
            byteCount = product
        }
        return Entry(name: name, shape: shape, begin: offsets[0], end: offsets[1], byteCount: byteCount)
    }

    /// The integers of a JSON array of non-negative integers, or nil for anything else.
    private static func naturals(_ value: SafeTensorsHeaderParser.Value?) -> [Int]? {
        guard case .array(let items)? = value else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .number(let text) = item, let number = Int(text), number >= 0 else { return nil }
            result.append(number)
        }
        return result
    }

    private static func parseMetadata(_ value: SafeTensorsHeaderParser.Value, source: String) throws -> [String: String] {
        if case .null = value { return [:] }
        guard case .object(let members) = value else {
            throw CheckpointError(.invalidMetadata, "\(source): __metadata__ is \(value.kind), not an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, item) in members {
            guard case .string(let text) = item else {
                throw CheckpointError(.invalidMetadata, "\(source): metadata \"\(key)\" is \(item.kind); safetensors metadata values must be strings")
            }
            metadata[key] = text
        }
        return metadata
    }

    // MARK: Files

    /// Reads and decodes the file at `path`.
    ///
    /// - Throws: `CheckpointError` with code `.io` if the file cannot be read, or any error of
    ///   `decode(_:source:)`.
    public static func read(path: String) throws -> SafeTensors {
        try decode(readFile(path), source: path)
    }

    /// Writes the checkpoint to `path` atomically: a reader sees the old file or the new one,
    /// never a part, even after a crash or power loss.
    ///
    /// The bytes go to a temporary file in the same directory, which is flushed with `fsync`,
    /// renamed over `path`, and then the directory is flushed so the rename itself is durable.
    /// - Throws: `CheckpointError` with code `.io` naming the failed step; the temporary file is
    ///   removed on failure.
    public func write(to path: String) throws {
        try writeFileAtomically(encoded(), to: path)
    }
}

/// Escapes `text` as a JSON string the way serde_json does: quote, backslash and control
/// characters escaped, everything else (UTF-8 included) kept as is.
private func appendJSONString(_ text: String, to json: inout [UInt8]) {
    json.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""): json += #"\""#.utf8
        case UInt8(ascii: "\\"): json += #"\\"#.utf8
        case 0x08: json += #"\b"#.utf8
        case 0x09: json += #"\t"#.utf8
        case 0x0A: json += #"\n"#.utf8
        case 0x0C: json += #"\f"#.utf8
        case 0x0D: json += #"\r"#.utf8
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            json += #"\u00"#.utf8
            json += [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        default: json.append(byte)
        }
    }
    json.append(UInt8(ascii: "\""))
}

/// The `.io` error for a failed system call: what could not be done to `path`, and `errno`.
private func systemError(_ what: String, _ path: String) -> CheckpointError {
    CheckpointError(.io, "\(path): cannot \(what)", posixCode: errno)
}

/// The whole content of the file at `path`.
private func readFile(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw systemError("open for reading", path) }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw systemError("stat", path) }
    let size = Int(status.st_size)
    var failure: CheckpointError?
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
        while initialized < size {
            let got = read(descriptor, buffer.baseAddress! + initialized, size - initialized)
            if got > 0 {
                initialized += got
            } else if got == 0 {
                break  // the file shrank while we read; decode reports the short input
            } else if errno != EINTR {
                failure = systemError("read", path)
                break
            }
        }
    }
    if let failure { throw failure }
    return bytes
}

/// Writes `bytes` to `path` through a synced temporary file, a rename, and a synced directory:
/// a reader sees the old file or the new one, never a part. Used for checkpoints and manifests.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    let temporary = "\(directory)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw systemError("create temporary file \(temporary)", path) }
    var renamed = false
    defer { if !renamed { unlink(temporary) } }
    do {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count >= 0 {
                written += count
            } else if errno != EINTR {
                throw systemError("write \(temporary)", path)
            }
        }
        guard fsync(descriptor) == 0 else { throw systemError("fsync \(temporary)", path) }
    } catch {
        close(descriptor)
        throw error
    }
    guard close(descriptor) == 0 else { throw systemError("close \(temporary)", path) }
    guard rename(temporary, path) == 0 else { throw systemError("rename \(temporary) over it", path) }
    renamed = true

    let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directoryDescriptor >= 0 else { throw systemError("open directory \(directory) to sync it", path) }
    defer { close(directoryDescriptor) }
    // Some file systems cannot sync a directory (EINVAL); the rename is then as durable as it gets.
    guard fsync(directoryDescriptor) == 0 || errno == EINVAL else {
        throw systemError("fsync directory \(directory)", path)
    }
}
