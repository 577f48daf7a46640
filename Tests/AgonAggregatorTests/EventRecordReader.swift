// A reader for TensorBoard event files written apart from the writer: a bitwise CRC-32C, the
// record framing and a protobuf decoder, so the tests check the writer against the format itself.

import Foundation

/// A record or message the test reader could not parse.
struct EventReadError: Error, CustomStringConvertible {
    let description: String
}

/// CRC-32C one bit at a time, straight from the definition (reflected 0x82F63B78, init and final
/// xor 0xFFFFFFFF): the independent implementation the table-driven one is checked against.
func bitwiseCRC32C(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return ~crc
}

/// TensorFlow's CRC mask, written out again for the reader.
func maskCRC(_ crc: UInt32) -> UInt32 {
    ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
}

/// The bytes a string of hex digits spells; spaces are ignored.
func eventBytes(fromHex hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "hex string of \(digits.count) digits is not whole bytes")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// A little-endian integer of `Integer`'s width at `offset`.
private func littleEndian<Integer: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: Integer.Type) -> Integer {
    (0..<Integer.bitWidth / 8).reduce(Integer(0)) { $0 | Integer(bytes[offset + $1]) << (8 * $1) }
}

/// The data of each record in an event file, in order. Throws on a CRC mismatch or on bytes
/// left after the last whole record (TensorBoard would skip those; the writer must not leave any).
func readRecords(_ bytes: [UInt8]) throws -> [[UInt8]] {
    var records: [[UInt8]] = []
    var offset = 0
    while offset < bytes.count {
        guard bytes.count - offset >= 12 else { throw EventReadError(description: "record \(records.count): torn header at byte \(offset)") }
        let length = littleEndian(bytes, at: offset, as: UInt64.self)
        guard littleEndian(bytes, at: offset + 8, as: UInt32.self) == maskCRC(bitwiseCRC32C(bytes[offset..<offset + 8])) else {
            throw EventReadError(description: "record \(records.count): length CRC mismatch at byte \(offset)")
        }
        guard length <= UInt64(bytes.count - offset - 16) else {
            throw EventReadError(description: "record \(records.count): \(length) bytes of data run past the end")
        }
        let data = Array(bytes[offset + 12..<offset + 12 + Int(length)])
        guard littleEndian(bytes, at: offset + 12 + Int(length), as: UInt32.self) == maskCRC(bitwiseCRC32C(data)) else {
            throw EventReadError(description: "record \(records.count): data CRC mismatch")
        }
        records.append(data)
        offset += 16 + Int(length)
    }
    return records
}

/// One protobuf field: its number and its value by wire type.
private enum Field {
    case varint(Int, UInt64)
    case fixed64(Int, UInt64)
    case fixed32(Int, UInt32)
    case bytes(Int, [UInt8])
}

/// The fields of one protobuf message, in order.
private func fields(_ bytes: [UInt8]) throws -> [Field] {
    var offset = 0
    func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard offset < bytes.count else { throw EventReadError(description: "varint runs past the end") }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        throw EventReadError(description: "varint longer than 10 bytes")
    }
    func take(_ count: Int) throws -> [UInt8] {
        guard count <= bytes.count - offset else { throw EventReadError(description: "field runs past the end") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
    var result: [Field] = []
    while offset < bytes.count {
        let key = try varint()
        let number = Int(key >> 3)
        switch key & 7 {
        case 0: result.append(.varint(number, try varint()))
        case 1: result.append(.fixed64(number, littleEndian(try take(8), at: 0, as: UInt64.self)))
        case 2: result.append(.bytes(number, try take(Int(try varint()))))
        case 5: result.append(.fixed32(number, littleEndian(try take(4), at: 0, as: UInt32.self)))
        default: throw EventReadError(description: "wire type \(key & 7) of field \(number)")
        }
    }
    return result
}

/// An `Event` as decoded by the test reader.
struct DecodedEvent: Equatable {
    /// A decoded `Summary.Image`.
    struct Image: Equatable {
        var height: Int64 = 0, width: Int64 = 0, colorspace: Int64 = 0
        var encoded: [UInt8] = []
    }
    /// A decoded `Summary.Value`: the float's bit pattern, so NaN compares equal to itself.
    struct Value: Equatable {
        var tag = ""
        var simpleValueBits: UInt32?
        var image: Image?
    }

    var wallTime: Double = 0
    var step: Int64 = 0
    var fileVersion: String?
    var values: [Value]?

    /// Decodes the `Event` fields Agon writes; throws on any other field.
    init(_ bytes: [UInt8]) throws {
        for field in try fields(bytes) {
            switch field {
            case .fixed64(1, let bits): wallTime = Double(bitPattern: bits)
            case .varint(2, let value): step = Int64(bitPattern: value)
            case .bytes(3, let text): fileVersion = String(decoding: text, as: UTF8.self)
            case .bytes(5, let summary): values = try fields(summary).map { field in
                guard case .bytes(1, let value) = field else { throw EventReadError(description: "Summary field \(field)") }
                return try DecodedEvent.value(value)
            }
            default: throw EventReadError(description: "unexpected Event field \(field)")
            }
        }
    }

    private static func value(_ bytes: [UInt8]) throws -> Value {
        var value = Value()
        for field in try fields(bytes) {
            switch field {
            case .bytes(1, let tag): value.tag = String(decoding: tag, as: UTF8.self)
            case .fixed32(2, let bits): value.simpleValueBits = bits
            case .bytes(4, let image): value.image = try Self.image(image)
            default: throw EventReadError(description: "unexpected Summary.Value field \(field)")
            }
        }
        return value
    }

    private static func image(_ bytes: [UInt8]) throws -> Image {
        var image = Image()
        for field in try fields(bytes) {
            switch field {
            case .varint(1, let value): image.height = Int64(bitPattern: value)
            case .varint(2, let value): image.width = Int64(bitPattern: value)
            case .varint(3, let value): image.colorspace = Int64(bitPattern: value)
            case .bytes(4, let encoded): image.encoded = encoded
            default: throw EventReadError(description: "unexpected Summary.Image field \(field)")
            }
        }
        return image
    }
}

/// Every event in the file at `path`, in order.
func readEvents(atPath path: String) throws -> [DecodedEvent] {
    guard let data = FileManager.default.contents(atPath: path) else { throw EventReadError(description: "cannot read \(path)") }
    return try readRecords(Array(data)).map(DecodedEvent.init)
}

/// A fresh empty folder under the system temporary folder.
func temporaryLogDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "agon-tensorboard-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
