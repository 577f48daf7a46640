// CRC-32C: the check value, RFC 3720's vectors, TensorFlow's mask, and the slicing-by-8 tables
// against a bit-at-a-time implementation at every length and alignment up to a few blocks.

import Testing
import AgonAggregator

/// SplitMix64, for reproducible test bytes.
private struct SeededBytes {
    var state: UInt64

    mutating func next() -> UInt8 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }

    mutating func take(_ count: Int) -> [UInt8] { (0..<count).map { _ in next() } }
}

@Suite struct CRC32CTests {
    @Test func checkValueOfTheNineDigits() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(bitwiseCRC32C(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum([UInt8](), continuing: 0x1234_5678) == 0x1234_5678)
    }

    /// RFC 3720 (iSCSI), appendix B.4: 32-byte test patterns and their CRC-32C.
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    @Test func maskRotatesAndOffsets() {
        #expect(CRC32C.masked(0) == 0xA282_EAD8)
        #expect(CRC32C.masked(0xE306_9283) == 0xC78A_B0E5)
        // The length CRC of the first golden record: 24 as a u64, stored as a3 7f 4b 22.
        let length: [UInt8] = [0x18, 0, 0, 0, 0, 0, 0, 0]
        #expect(CRC32C.masked(CRC32C.checksum(length)) == 0x224B_7FA3)
    }

    @Test func tablesMatchTheBitwiseDefinitionAtEveryLengthAndAlignment() {
        var random = SeededBytes(state: 42)
        let bytes = random.take(80)
        for start in 0..<8 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                let expected = bitwiseCRC32C(slice)
                #expect(CRC32C.checksum(slice) == expected, "bytes \(start)..<\(end)")
            }
        }
    }

    @Test func continuingEqualsOnePass() {
        var random = SeededBytes(state: 7)
        let bytes = random.take(1000)
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let first = CRC32C.checksum(bytes[..<split])
            #expect(CRC32C.checksum(bytes[split...], continuing: first) == whole, "split at \(split)")
        }
        #expect(whole == bitwiseCRC32C(bytes))
    }

    @Test func sequencesWithoutContiguousStorage() {
        let digits = "123456789".utf8
        #expect(CRC32C.checksum(digits.lazy.map { $0 }) == 0xE306_9283)
        #expect(CRC32C.checksum(repeatElement(UInt8(0xFF), count: 32)) == 0x62A8_AB43)
    }
}

@Suite struct ScalarEventEncodingTests {
    @Test("the one-buffer scalar encoding equals the message encoding", arguments: [0.0, 1_700_000_000.25], [Int64(0), 1, 300, -5])
    func sameBytes(wallTime: Double, step: Int64) {
        let values: [(tag: String, value: Float)] = [("loss", 0.5), ("", -0), ("a/very/long/tag/" + String(repeating: "x", count: 200), .nan)]
        let summary = EventProtobuf.Summary(values: values.map { .init(tag: $0.tag, content: .simpleValue($0.value)) })
        let expected = EventProtobuf.Event(wallTime: wallTime, step: step, content: .summary(summary)).encoded()
        #expect(EventProtobuf.scalarEvent(wallTime: wallTime, step: step, values) == expected)
    }
}
