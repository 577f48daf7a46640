// CRC-32C (Castagnoli), the checksum of TensorBoard's event-file records, and TensorFlow's mask
// that keeps a CRC stored next to the data it covers from checksumming to a fixed pattern.

/// CRC-32C, the Castagnoli cyclic redundancy check, computed slicing-by-8.
///
/// ```
/// polynomial 0x1EDC6F41, reflected 0x82F63B78; init 0xFFFFFFFF; final xor 0xFFFFFFFF
/// checksum("123456789") = 0xE3069283
/// ```
///
/// Castagnoli, Bräuer and Herrmann, "Optimization of Cyclic Redundancy-Check Codes with 24 and
/// 32 Parity Bits", IEEE Trans. Communications 41(6), 1993 (the polynomial); Kounavis and Berry,
/// "A Systematic Approach to Building High Performance Software-Based CRC Generators", ISCC
/// 2005 (slicing-by-8: eight 256-entry tables, eight bytes a step).
public enum CRC32C {
    /// The CRC-32C of `bytes`, or of the bytes already summed to `crc` followed by `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: The data.
    ///   - crc: The finished CRC of the data before `bytes`; 0 (the CRC of nothing) to start.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes, continuing crc: UInt32 = 0) -> UInt32
    where Bytes.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), continuing: crc) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// The CRC-32C of the raw bytes in `buffer`, continuing from `crc` as in `checksum(_:continuing:)`.
    public static func checksum(_ buffer: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var state = ~crc
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return crc }
        tables.withUnsafeBufferPointer { table in
            var offset = 0
            let count = buffer.count
            // Eight bytes a step: the CRC state absorbs the first four, the tables fold all eight.
            while count - offset >= 8 {
                let low = state ^ UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                let high = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                state = table[7 * 256 + Int(low & 0xFF)]
                    ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)]
                    ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)]
                    ^ table[Int(high >> 24)]
                offset += 8
            }
            while offset < count {
                let byte = base.load(fromByteOffset: offset, as: UInt8.self)
                state = (state >> 8) ^ table[Int((state ^ UInt32(byte)) & 0xFF)]
                offset += 1
            }
        }
        return ~state
    }

    /// TensorFlow's masked form of a CRC, the form stored in event-file records.
    ///
    /// ```
    /// masked(c) = ((c >> 15) | (c << 17)) + 0xA282EAD8   (mod 2³²)
    /// ```
    ///
    /// From TensorFlow's `crc32c.h` (`Mask`): a rotation and an offset, so that the CRC of data
    /// that holds embedded CRCs does not degenerate.
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    /// The reflected Castagnoli polynomial.
    static let polynomial: UInt32 = 0x82F6_3B78

    /// Eight 256-entry tables, back to back: table k maps a byte to its CRC after k more zero
    /// bytes, so one step can fold eight bytes with eight lookups.
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()
}
