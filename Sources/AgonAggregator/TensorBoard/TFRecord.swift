// The TFRecord framing of TensorBoard's event files: each event's bytes behind a length and two
// masked CRC-32Cs, so a reader can find where a record ends and tell a torn one from a whole one.

/// The record framing of TensorFlow's `record_writer`, which event files use.
///
/// ```
/// u64 length (LE) | u32 masked CRC-32C of those 8 bytes (LE) | data | u32 masked CRC-32C of data (LE)
/// ```
///
/// A reader stops at a record whose CRC does not match, and skips a truncated last one.
public enum TFRecord {
    /// The bytes a record adds to its data: 8 of length and 4 for each of the two CRCs.
    public static let overhead = 16

    /// `data` framed as one record.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var record = [UInt8]()
        record.reserveCapacity(data.count + overhead)
        append(data, to: &record)
        return record
    }

    /// Appends `data`, framed as one record, to `buffer`.
    public static func append(_ data: [UInt8], to buffer: inout [UInt8]) {
        let start = buffer.count
        appendLittleEndian(UInt64(data.count), to: &buffer)
        let lengthCRC = buffer[start..<start + 8].withUnsafeBytes { CRC32C.checksum($0) }
        appendLittleEndian(CRC32C.masked(lengthCRC), to: &buffer)
        buffer.append(contentsOf: data)
        appendLittleEndian(CRC32C.masked(CRC32C.checksum(data)), to: &buffer)
    }

    private static func appendLittleEndian<Integer: FixedWidthInteger>(_ value: Integer, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }
}
