// The little-endian writer and reader every message layout is built from: fixed-width integers,
// length-prefixed UTF-8 strings, and Float32 payloads. Nothing here traps on hostile input.

/// Builds a header frame: version byte, kind byte, then fields in little-endian order.
struct WireWriter {
    /// The bytes written so far.
    private(set) var bytes: [UInt8]

    /// A header for `kind`, starting with `WireMessage.protocolVersion`.
    init(kind: WireMessage.Kind, capacity: Int = 32) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(WireMessage.protocolVersion)
        bytes.append(kind.rawValue)
    }

    /// Appends one byte.
    mutating func write(_ value: UInt8) {
        bytes.append(value)
    }

    /// Appends 4 bytes, little-endian.
    mutating func write(_ value: Int32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends 8 bytes, little-endian.
    mutating func write(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends 4 bytes, the IEEE 754 bits little-endian.
    mutating func write(_ value: Float) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends 8 bytes, the IEEE 754 bits little-endian.
    mutating func write(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a UInt32 little-endian byte count, then the bytes.
    mutating func write(bytes value: [UInt8]) {
        precondition(value.count <= Int(UInt32.max), "a wire byte string holds at most 4 GiB, got \(value.count) bytes")
        withUnsafeBytes(of: UInt32(value.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: value)
    }

    /// Appends a UInt32 little-endian byte count, then the UTF-8 bytes.
    mutating func write(_ value: String) {
        let utf8 = value.utf8
        precondition(utf8.count <= Int(UInt32.max), "a wire string holds at most 4 GiB, got \(utf8.count) bytes")
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8)
    }

    /// `floats` as little-endian Float32 bytes: one copy.
    static func littleEndianBytes(of floats: UnsafeBufferPointer<Float>) -> [UInt8] {
        let count = floats.count * MemoryLayout<Float>.size
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(floats)) }
            #else
            for (index, value) in floats.enumerated() {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes in
                    for byte in 0..<4 { buffer[index * 4 + byte] = bytes[byte] }
                }
            }
            #endif
            initialized = count
        }
    }
}

/// Reads a header frame field by field, throwing a `WireError` that names the message and the
/// field when the bytes run out or do not fit.
struct WireReader {
    /// The header frame.
    private let bytes: [UInt8]
    /// The next byte to read.
    private var offset = 0
    /// The message being read, for errors: `"join"`, `"gradients"`, ...
    var context: String

    /// A reader of `bytes`, naming `context` in its errors.
    init(_ bytes: [UInt8], context: String) {
        self.bytes = bytes
        self.context = context
    }

    /// Bytes not yet read.
    var remaining: Int { bytes.count - offset }

    /// Reads one byte.
    mutating func readUInt8(_ field: String) throws(WireError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads 4 bytes, little-endian.
    mutating func readInt32(_ field: String) throws(WireError) -> Int32 {
        Int32(bitPattern: try readUInt32(field))
    }

    /// Reads 8 bytes, little-endian.
    mutating func readInt64(_ field: String) throws(WireError) -> Int64 {
        try need(8, field)
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return Int64(bitPattern: value)
    }

    /// Reads 4 bytes as the IEEE 754 bits of a Float32, little-endian.
    mutating func readFloat(_ field: String) throws(WireError) -> Float {
        Float(bitPattern: try readUInt32(field))
    }

    /// Reads 8 bytes as the IEEE 754 bits of a Float64, little-endian.
    mutating func readDouble(_ field: String) throws(WireError) -> Double {
        Double(bitPattern: UInt64(bitPattern: try readInt64(field)))
    }

    /// Reads a UInt32 byte count, then that many bytes.
    mutating func readBytes(_ field: String) throws(WireError) -> [UInt8] {
        let length = Int(try readUInt32("\(field) length"))
        guard length <= remaining else {
            throw WireError(.truncated, "\(context) header: \(field) claims \(length) bytes but only \(remaining) remain")
        }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    /// Reads a UInt32 byte count, then that many bytes of UTF-8.
    mutating func readString(_ field: String) throws(WireError) -> String {
        let length = Int(try readUInt32("\(field) length"))
        guard length <= remaining else {
            throw WireError(.truncated, "\(context) header: \(field) claims \(length) bytes but only \(remaining) remain")
        }
        let slice = bytes[offset..<offset + length]
        offset += length
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw WireError(.malformed, "\(context) header: \(field) is not valid UTF-8")
        }
        return text
    }

    /// Checks that every byte was read.
    func finish() throws(WireError) {
        guard remaining == 0 else {
            throw WireError(.malformed, "\(context) header: \(remaining) bytes left over after the last field")
        }
    }

    private mutating func readUInt32(_ field: String) throws(WireError) -> UInt32 {
        try need(4, field)
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * UInt32(index)) }
        offset += 4
        return value
    }

    private func need(_ count: Int, _ field: String) throws(WireError) {
        guard remaining >= count else {
            throw WireError(.truncated, "\(context) header ends at byte \(bytes.count) before \(field) (\(count) bytes at offset \(offset))")
        }
    }

    /// `bytes` (a payload frame) as Float32 values, little-endian: one copy.
    /// The count must be a multiple of 4 (checked by the caller).
    static func floats(fromLittleEndian bytes: [UInt8]) -> [Float] {
        let count = bytes.count / MemoryLayout<Float>.size
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                #if _endian(little)
                if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<count * 4])) }
                #else
                for index in 0..<count {
                    buffer[index] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                }
                #endif
            }
            initialized = count
        }
    }
}

/// Runs `body` over the bytes of `array`, keeping the error type that `withUnsafeBytes` loses.
func withBytes<Result>(
    of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(WireError) -> Result
) throws(WireError) -> Result {
    let outcome: Swift.Result<Result, WireError> = array.withUnsafeBytes { bytes in
        Swift.Result { () throws(WireError) in try body(bytes) }
    }
    return try outcome.get()
}
