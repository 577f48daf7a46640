// Reads IDX files (the MNIST / Fashion-MNIST / EMNIST format), raw or gzip-compressed; gzip is
// recognised by its 1f 8b magic, never by the file's name.
import CZlib
import Foundation

/// The dimensions and unsigned-byte contents of one IDX file.
///
/// The format (LeCun et al., <http://yann.lecun.com/exdb/mnist/>):
/// ```
/// 00 00 <type> <ndims>           type 0x08 = unsigned byte, the only type Agon reads
/// ndims × UInt32, big-endian     the dimensions, outermost first
/// ∏ dims bytes                   the data, row-major
/// ```
public struct IDXFile: Sendable {
    /// The dimensions, outermost first: `[N, H, W]` for images, `[N]` for labels.
    public let dimensions: [Int]
    /// The elements, row-major; `data.count` is the product of `dimensions`.
    public let data: [UInt8]

    /// Reads and parses the file at `path`, decompressing it first if it starts with gzip's magic.
    ///
    /// Throws `TrainingError` with code `.missingFile`, `.unreadableFile`, `.truncatedGzip`,
    /// `.corruptGzip`, `.wrongMagic`, `.unsupportedType` or `.sizeMismatch`.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TrainingError(.missingFile, path: path, "no such file")
        }
        guard !isDirectory.boolValue else {
            throw TrainingError(.unreadableFile, path: path, "is a directory, not an IDX file")
        }
        let contents: Data
        do {
            contents = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TrainingError(.unreadableFile, path: path, "could not be read; check its permissions", cause: error)
        }
        try self.init(bytes: [UInt8](contents), path: path)
    }

    /// Parses an IDX file already in memory, decompressing it first if it starts with gzip's magic.
    ///
    /// `path` only names the file in error messages.
    public init(bytes: [UInt8], path: String) throws {
        var bytes = bytes
        if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
            bytes = try Self.gunzip(bytes, path: path)
        }
        guard bytes.count >= 4 else {
            throw TrainingError(.wrongMagic, path: path,
                            "is \(bytes.count) bytes long, too short for the 4-byte IDX header")
        }
        guard bytes[0] == 0, bytes[1] == 0, bytes[3] >= 1 else {
            let found = bytes[0..<4].map { Self.hex($0) }.joined(separator: " ")
            throw TrainingError(.wrongMagic, path: path,
                            "starts with \(found), not an IDX header (00 00 08 <ndims ≥ 1>); is it an IDX file?")
        }
        guard bytes[2] == 0x08 else {
            throw TrainingError(.unsupportedType, path: path,
                            "has IDX element type \(Self.hex(bytes[2])); only 08 (unsigned byte) is supported")
        }
        let rank = Int(bytes[3])
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw TrainingError(.sizeMismatch, path: path,
                            "is \(bytes.count) bytes long, too short for a header with \(rank) dimensions")
        }
        var dimensions: [Int] = []
        dimensions.reserveCapacity(rank)
        var expected = 1
        var overflow = false
        for d in 0..<rank {
            let at = 4 + 4 * d
            let size = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            dimensions.append(size)
            let (product, didOverflow) = expected.multipliedReportingOverflow(by: size)
            expected = product
            overflow = overflow || didOverflow
        }
        let actual = bytes.count - headerSize
        guard !overflow, actual == expected else {
            let shape = dimensions.map(String.init).joined(separator: "×")
            let which = overflow || actual < expected ? "shorter" : "longer"
            throw TrainingError(.sizeMismatch, path: path,
                            "data is \(which) than its dimensions \(shape) say: \(actual) bytes, expected \(expected)")
        }
        bytes.removeFirst(headerSize)  // in place: the buffer is ours alone
        self.dimensions = dimensions
        self.data = bytes
    }

    /// Decompresses a whole gzip stream with zlib (`16 + MAX_WBITS` selects the gzip wrapper).
    ///
    /// Only the first gzip member is read; what follows it is ignored, as IDX files hold one.
    static func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw TrainingError(.unreadableFile, path: path, "zlib could not start decompressing (status \(initStatus))")
        }
        defer { inflateEnd(&stream) }

        // The gzip trailer's last four bytes hold the size mod 2³², little-endian: a good first
        // guess for the output, capped by deflate's best ratio (about 1032:1) in case it is junk.
        var capacity = 1 << 16
        if input.count >= 18 {
            let n = input.count
            let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
            capacity = max(capacity, min(isize, input.count &* 1032) + 64)
        }
        var output = [UInt8](repeating: 0, count: capacity)
        var produced = 0

        try input.withUnsafeBufferPointer { source in
            var fed = 0
            while true {
                if stream.avail_in == 0, fed < source.count {
                    let chunk = min(source.count - fed, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress! + fed)
                    stream.avail_in = UInt32(chunk)
                    fed += chunk
                }
                if produced == output.count {
                    output.append(contentsOf: repeatElement(0, count: output.count))
                }
                let status = output.withUnsafeMutableBufferPointer { target -> Int32 in
                    let room = min(target.count - produced, Int(UInt32.max))
                    stream.next_out = target.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    return status
                }
                let starved = stream.avail_in == 0 && fed == source.count
                switch status {
                case Z_STREAM_END:
                    return
                case Z_OK, Z_BUF_ERROR:
                    // zlib stopped with output room left and no input left: the stream ends early.
                    if starved && (stream.avail_out > 0 || status == Z_BUF_ERROR) {
                        throw TrainingError(.truncatedGzip, path: path,
                                        "gzip stream ends early after \(source.count) bytes; the file is truncated, download it again")
                    }
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw TrainingError(.corruptGzip, path: path,
                                    "is not a valid gzip stream (\(reason)); the file is corrupt, download it again")
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// A byte as two upper-case hex digits.
    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 16 ? "0" + digits : digits
    }
}
