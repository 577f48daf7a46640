// Tests of IDXFile and ImageDataset: small IDX files written to a temporary folder, raw and
// gzipped by the system's gzip, every error case, and the real Fashion-MNIST when installed.
import AgonTraining
import Foundation
import Testing

/// A fresh temporary folder, removed when the value is dropped by `deinit`.
private final class Scratch {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("agon-idx-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// An IDX file of unsigned bytes with the given dimensions.
private func idx(_ dimensions: [Int], _ data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
    for d in dimensions {
        bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)]
    }
    return bytes + data
}

/// `bytes` compressed by the system's gzip.
private func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-c", "-n"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    // Write and read on different threads so a large input cannot deadlock on a full pipe.
    let writer = Thread {
        input.fileHandleForWriting.write(Data(bytes))
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let compressed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0)
    return [UInt8](compressed)
}

/// The error `body` throws, which must be a `TrainingError`.
private func dataError(_ body: () throws -> Void) throws -> TrainingError {
    try #require(throws: TrainingError.self) { try body() }
}

/// Three 2×3 images and their labels.
private let pixels: [UInt8] = (0..<18).map { UInt8($0 * 15) }
private let classLabels: [UInt8] = [3, 0, 9]

/// Writes a 3-image train split to `scratch`, gzipped or raw.
private func writeSplit(_ scratch: Scratch, gzipped: Bool) throws {
    let images = idx([3, 2, 3], pixels), labels = idx([3], classLabels)
    if gzipped {
        try scratch.write("train-images-idx3-ubyte.gz", gzip(images))
        try scratch.write("train-labels-idx1-ubyte.gz", gzip(labels))
    } else {
        try scratch.write("train-images-idx3-ubyte", images)
        try scratch.write("train-labels-idx1-ubyte", labels)
    }
}

@Suite struct IDXFileTests {
    @Test func readsRawFile() throws {
        let scratch = try Scratch()
        let path = try scratch.write("a-idx3-ubyte", idx([3, 2, 3], pixels))
        let file = try IDXFile(path: path)
        #expect(file.dimensions == [3, 2, 3])
        #expect(file.data == pixels)
    }

    @Test func gzipAndRawGiveTheSame() throws {
        let scratch = try Scratch()
        let bytes = idx([3, 2, 3], pixels)
        let raw = try IDXFile(path: scratch.write("raw", bytes))
        // A name without .gz: gzip is recognised by its magic bytes, not by the name.
        let zipped = try IDXFile(path: scratch.write("zipped", gzip(bytes)))
        #expect(zipped.dimensions == raw.dimensions)
        #expect(zipped.data == raw.data)
    }

    @Test func gunzipsLargeFile() throws {
        // Bigger than zlib's first output guess, with pseudo-random bytes that barely compress.
        var state: UInt32 = 12345
        let data = (0..<300_000).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(state >> 24)
        }
        let file = try IDXFile(bytes: gzip(idx([300_000], data)), path: "large")
        #expect(file.data == data)
    }

    @Test func datasetRoundTripScalesToPlusMinusOne() throws {
        let scratch = try Scratch()
        try writeSplit(scratch, gzipped: false)
        let dataset = try ImageDataset.load(directory: scratch.url.path, split: .train)
        #expect(dataset.count == 3 && dataset.height == 2 && dataset.width == 3)
        #expect(dataset.classes == 10)
        #expect(dataset.images == pixels)
        #expect(dataset.labels(at: [2, 0]) == [9, 3])

        var floats = [Float](repeating: .nan, count: 2 * 6)
        floats.withUnsafeMutableBufferPointer { dataset.fillImages(indices: [2, 0], into: $0.baseAddress!) }
        let expected = (Array(pixels[12..<18]) + Array(pixels[0..<6])).map { Float($0) / 127.5 - 1 }
        #expect(floats == expected)
        #expect(floats.allSatisfy { $0 >= -1 && $0 <= 1 })

        // The ends of the byte range land exactly on the ends of [-1, 1].
        let extremes = ImageDataset(images: [0, 255], labels: [0, 1], height: 1, width: 1)
        var ends: [Float] = [0, 0]
        ends.withUnsafeMutableBufferPointer { extremes.fillImages(indices: 0..<2, into: $0.baseAddress!) }
        #expect(ends == [-1, 1])
    }

    @Test func datasetGzipAndRawGiveTheSame() throws {
        let raw = try Scratch(), zipped = try Scratch()
        try writeSplit(raw, gzipped: false)
        try writeSplit(zipped, gzipped: true)
        let a = try ImageDataset.load(directory: raw.url.path, split: .train)
        let b = try ImageDataset.load(directory: zipped.url.path, split: .train)
        #expect(a.images == b.images && a.labels == b.labels)
    }

    @Test func prefersGzipName() throws {
        let scratch = try Scratch()
        try writeSplit(scratch, gzipped: true)
        // A broken raw file beside the gzipped one must not be read.
        try scratch.write("train-images-idx3-ubyte", [1, 2, 3])
        let dataset = try ImageDataset.load(directory: scratch.url.path, split: .train)
        #expect(dataset.images == pixels)
    }

    @Test func missingFile() throws {
        let scratch = try Scratch()
        let path = scratch.path("nothing-here")
        let error = try dataError { _ = try IDXFile(path: path) }
        #expect(error.code == .missingFile)
        #expect(error.message.contains(path))
    }

    @Test func missingSplitNamesPathAndFix() throws {
        let scratch = try Scratch()
        let error = try dataError { _ = try ImageDataset.load(directory: scratch.url.path, split: .test) }
        #expect(error.code == .missingFile)
        #expect(error.message.contains(scratch.path("t10k-images-idx3-ubyte")))
        #expect(!error.message.contains("apt-get"))

        let absent = "/nonexistent-agon-\(UUID().uuidString)"
        let other = try dataError { _ = try ImageDataset.load(directory: absent, split: .train) }
        #expect(other.message.contains(absent))
    }

    @Test(.enabled(if: !FileManager.default.fileExists(atPath: ImageDataset.defaultDirectory),
                   "the default directory exists here, so its missing-file hint cannot be seen"))
    func missingDefaultDirectorySuggestsPackage() throws {
        let error = try dataError { _ = try ImageDataset.load(split: .train) }
        #expect(error.code == .missingFile)
        #expect(error.message.contains("apt-get install dataset-fashion-mnist"))
    }

    @Test func truncatedGzip() throws {
        let scratch = try Scratch()
        let zipped = try gzip(idx([3, 2, 3], pixels))
        for length in [2, 10, zipped.count / 2, zipped.count - 4] {
            let path = try scratch.write("cut-\(length)", Array(zipped[..<length]))
            let error = try dataError { _ = try IDXFile(path: path) }
            #expect(error.code == .truncatedGzip, "cut to \(length) of \(zipped.count) bytes")
            #expect(error.message.contains(path))
        }
    }

    @Test func corruptGzip() throws {
        let scratch = try Scratch()
        let zipped = try gzip(idx([3, 2, 3], pixels))
        var badChecksum = zipped
        badChecksum[zipped.count - 8] ^= 0xFF  // the CRC-32 in the trailer
        var badMethod = zipped
        badMethod[2] = 7  // compression method: only 8 (deflate) exists
        for (name, bytes) in [("crc", badChecksum), ("method", badMethod)] {
            let path = try scratch.write(name, bytes)
            let error = try dataError { _ = try IDXFile(path: path) }
            #expect(error.code == .corruptGzip, "\(name)")
            #expect(error.message.contains(path))
        }
    }

    @Test func wrongMagic() throws {
        let scratch = try Scratch()
        for (name, bytes) in [("text", Array("hello, world".utf8)), ("short", [0, 0]), ("rank0", [0, 0, 8, 0])] as [(String, [UInt8])] {
            let path = try scratch.write(name, bytes)
            let error = try dataError { _ = try IDXFile(path: path) }
            #expect(error.code == .wrongMagic, "\(name)")
            #expect(error.message.contains(path))
        }
    }

    @Test func unsupportedType() throws {
        let scratch = try Scratch()
        let path = try scratch.write("floats", idx([1], [0, 0, 0, 0], type: 0x0D))
        let error = try dataError { _ = try IDXFile(path: path) }
        #expect(error.code == .unsupportedType)
        #expect(error.message.contains(path) && error.message.contains("0D"))
    }

    @Test func dataShorterOrLongerThanDimensions() throws {
        let scratch = try Scratch()
        let cases: [(String, [UInt8])] = [
            ("short", idx([3, 2, 3], Array(pixels.dropLast()))),
            ("long", idx([3, 2, 3], pixels + [0])),
            ("header", Array(idx([3, 2, 3], pixels)[..<10])),
        ]
        for (name, bytes) in cases {
            for zipped in [false, true] {
                let path = try scratch.write("\(name)-\(zipped)", zipped ? gzip(bytes) : bytes)
                let error = try dataError { _ = try IDXFile(path: path) }
                #expect(error.code == .sizeMismatch, "\(name), gzipped: \(zipped)")
                #expect(error.message.contains(path))
            }
        }
    }

    @Test func countMismatch() throws {
        let scratch = try Scratch()
        try scratch.write("train-images-idx3-ubyte", idx([3, 2, 3], pixels))
        let labels = try scratch.write("train-labels-idx1-ubyte", idx([2], [1, 2]))
        let error = try dataError { _ = try ImageDataset.load(directory: scratch.url.path, split: .train) }
        #expect(error.code == .countMismatch)
        #expect(error.message.contains(labels))
    }

    @Test func imagesNot3DOrLabelsNot1D() throws {
        let flat = try Scratch()
        let images = try flat.write("train-images-idx3-ubyte", idx([3, 6], pixels))
        try flat.write("train-labels-idx1-ubyte", idx([3], classLabels))
        let imageError = try dataError { _ = try ImageDataset.load(directory: flat.url.path, split: .train) }
        #expect(imageError.code == .wrongRank)
        #expect(imageError.message.contains(images))

        let square = try Scratch()
        try square.write("train-images-idx3-ubyte", idx([3, 2, 3], pixels))
        let labels = try square.write("train-labels-idx1-ubyte", idx([3, 1], classLabels))
        let labelError = try dataError { _ = try ImageDataset.load(directory: square.url.path, split: .train) }
        #expect(labelError.code == .wrongRank)
        #expect(labelError.message.contains(labels))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ImageDataset.defaultDirectory),
                   "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"))
    func loadsFashionMNIST() throws {
        let dataset = try ImageDataset.load(split: .train)
        #expect(dataset.count == 60_000)
        #expect(dataset.height == 28 && dataset.width == 28)
        #expect(dataset.images.count == 60_000 * 28 * 28)
        #expect(dataset.labels.count == 60_000)
        #expect(dataset.labels.allSatisfy { $0 < 10 })
        #expect(dataset.classes == 10)
    }
}
