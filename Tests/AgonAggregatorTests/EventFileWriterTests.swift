// EventFileWriter and the event encoding: REFERENCE.md's golden records byte for byte, the file
// name, files read back record by record, buffering until flush, and the errors it throws.

import Foundation
import Testing
import AgonAggregator

/// The REFERENCE.md golden record of `Event{wall_time=1700000000, file_version="brain.Event:2"}`.
private let fileVersionGolden = eventBytes(fromHex:
    "1800000000000000 a37f4b22 0900000040fc54d9411a0d627261696e2e4576656e743a32 eced8f9d")
/// The golden record of `Event{wall_time=1700000000, step=1, summary{value{tag="loss", simple_value=0.5}}}`.
private let lossGolden = eventBytes(fromHex:
    "1a00000000000000 129bd82d 0900000040fc54d941 1001 2a0d0a0b0a046c6f7373150000003f 8db02e39")

/// A 2×2 RGB PNG (red, green / blue, white), made with Python's zlib and struct.
let sampleTwoByTwoPNG = eventBytes(fromHex: """
    89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73000000124944415478da63f8cf\
    c0c000c20cff8100001fee05fbf1abba770000000049454e44ae426082
    """)

/// The error code `body` throws, or nil if it throws something else or nothing.
private func tensorBoardErrorCode(_ body: () throws -> Void) -> TensorBoardError.Code? {
    do {
        try body()
        return nil
    } catch let error as TensorBoardError {
        return error.code
    } catch {
        return nil
    }
}

private func fileSize(_ path: String) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
}

@Suite struct EventFileWriterTests {
    // MARK: Encoding

    @Test func goldenFileVersionRecord() {
        let event = EventProtobuf.Event(wallTime: 1_700_000_000, content: .fileVersion("brain.Event:2"))
        #expect(TFRecord.frame(event.encoded()) == fileVersionGolden)
    }

    @Test func goldenScalarRecord() {
        let value = EventProtobuf.Summary.Value(tag: "loss", content: .simpleValue(0.5))
        let event = EventProtobuf.Event(wallTime: 1_700_000_000, step: 1, content: .summary(.init(values: [value])))
        #expect(TFRecord.frame(event.encoded()) == lossGolden)
    }

    @Test func zeroScalarStillCarriesItsValue() {
        // simple_value sits in a oneof: 0.0 is written, or TensorBoard would see no value at all.
        let value = EventProtobuf.Summary.Value(tag: "x", content: .simpleValue(0))
        #expect(value.encoded() == [0x0A, 0x01, 0x78, 0x15, 0, 0, 0, 0])
    }

    @Test func varintsAndImageFields() {
        let event = EventProtobuf.Event(wallTime: 0, step: 300, content: nil)
        #expect(event.encoded() == [0x10, 0xAC, 0x02])
        #expect(EventProtobuf.Event(wallTime: 0, step: -1, content: nil).encoded()
            == [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        let image = EventProtobuf.Summary.Image(height: 28, width: 300, colorspace: 3, encodedImage: [0xAB])
        #expect(image.encoded() == [0x08, 28, 0x10, 0xAC, 0x02, 0x18, 3, 0x22, 1, 0xAB])
    }

    // MARK: The file

    @Test func fileNameFormat() {
        #expect(EventFileWriter.fileName(wallTime: 1_700_000_000.75, host: "gpu-01", pid: 4242, index: 3)
            == "events.out.tfevents.1700000000.gpu-01.4242.3")
        #expect(EventFileWriter.fileName(wallTime: 42, host: "h", pid: 1) == "events.out.tfevents.0000000042.h.1.0")
    }

    @Test func createsFoldersAndNamesTheFile() throws {
        let root = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = root + "/runs/a/b"
        let writer = try EventFileWriter(directory: folder, wallTime: 1_700_000_123.5, host: "node7", pid: 99, index: 2)
        defer { writer.close() }
        #expect(writer.path == folder + "/events.out.tfevents.1700000123.node7.99.2")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["events.out.tfevents.1700000123.node7.99.2"])
    }

    @Test func writesTheGoldenRecordsByteForByte() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        try writer.addScalars(step: 1, wallTime: 1_700_000_000, [(tag: "loss", value: 0.5)])
        writer.close()
        let bytes = try #require(FileManager.default.contents(atPath: writer.path))
        #expect(Array(bytes) == fileVersionGolden + lossGolden)
    }

    @Test func fileReadsBackInOrder() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        let special: [Float] = [0, -0.0, 1e-30, -3.5, .greatestFiniteMagnitude, .infinity, .nan]
        for step in 0..<100 {
            let wallTime = 1_700_000_000 + Double(step) / 4
            try writer.addScalars(step: Int64(step), wallTime: wallTime, [
                (tag: "loss/generator", value: special[step % special.count]),
                (tag: "loss/discriminator", value: Float(step) * 0.1),
            ])
            if step % 25 == 0 {
                try writer.addImage(step: Int64(step), wallTime: wallTime, tag: "samples", width: 2, height: 2, colorspace: 3, png: sampleTwoByTwoPNG)
            }
        }
        writer.close()

        let events = try readEvents(atPath: writer.path)
        #expect(events.count == 1 + 100 + 4)
        #expect(events[0].fileVersion == "brain.Event:2" && events[0].values == nil && events[0].wallTime == 1_700_000_000)
        let scalars = events.dropFirst().filter { $0.values?.first?.image == nil }
        #expect(scalars.map(\.step) == (0..<100).map(Int64.init))
        for event in scalars {
            let step = Int(event.step)
            #expect(event.wallTime == 1_700_000_000 + Double(step) / 4)
            #expect(event.values == [
                .init(tag: "loss/generator", simpleValueBits: special[step % special.count].bitPattern),
                .init(tag: "loss/discriminator", simpleValueBits: (Float(step) * 0.1).bitPattern),
            ])
        }
        let images = events.filter { $0.values?.first?.image != nil }
        #expect(images.map(\.step) == [0, 25, 50, 75])
        let image = DecodedEvent.Image(height: 2, width: 2, colorspace: 3, encoded: sampleTwoByTwoPNG)
        #expect(images.allSatisfy { $0.values == [.init(tag: "samples", image: image)] })
    }

    @Test func recordsWaitForFlush() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        defer { writer.close() }
        // The header record is on disk at once, so TensorBoard sees the run before any value.
        #expect(try fileSize(writer.path) == fileVersionGolden.count)
        try writer.addScalars(step: 1, wallTime: 1_700_000_000, [(tag: "loss", value: 0.5)])
        #expect(try fileSize(writer.path) == fileVersionGolden.count)
        try writer.flush()
        #expect(try fileSize(writer.path) == fileVersionGolden.count + lossGolden.count)
        try writer.flush()
        #expect(try readEvents(atPath: writer.path).count == 2)
    }

    @Test func largeBuffersFlushThemselvesInWholeRecords() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        defer { writer.close() }
        let png = [UInt8](repeating: 7, count: 300_000)
        for step in 0..<4 {
            try writer.addImage(step: Int64(step), wallTime: 1_700_000_000, tag: "big", width: 1, height: 1, colorspace: 1, png: png)
        }
        // Past a megabyte the writer flushed by itself, and what is on disk is whole records.
        #expect(try readEvents(atPath: writer.path).count == 5)
    }

    @Test func emptyScalarListWritesNothing() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        try writer.addScalars(step: 1, wallTime: 1_700_000_000, [])
        writer.close()
        #expect(try readEvents(atPath: writer.path).count == 1)
    }

    // MARK: Errors

    @Test func secondWriterWithTheSameNameIsRefused() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        defer { first.close() }
        #expect(tensorBoardErrorCode { _ = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1) } == .fileExists)
        let error = try #require(throws: TensorBoardError.self) {
            try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        }
        #expect(error.description.contains(first.path))
    }

    @Test func closedWriterRefusesEvents() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try EventFileWriter(directory: folder, wallTime: 1_700_000_000, host: "h", pid: 1)
        writer.close()
        writer.close()
        #expect(tensorBoardErrorCode { try writer.addScalars(step: 1, wallTime: 0, [(tag: "a", value: 1)]) } == .closed)
        #expect(tensorBoardErrorCode { try writer.flush() } == nil)
    }

    @Test func badHostAndFolderAreTypedErrors() throws {
        let folder = try temporaryLogDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(tensorBoardErrorCode { _ = try EventFileWriter(directory: folder, wallTime: 1, host: "a/b", pid: 1) } == .invalidHostName)
        #expect(tensorBoardErrorCode { _ = try EventFileWriter(directory: folder, wallTime: 1, host: "", pid: 1) } == .invalidHostName)
        let file = folder + "/plain-file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(tensorBoardErrorCode { _ = try EventFileWriter(directory: file, wallTime: 1, host: "h", pid: 1) } == .directory)
        #expect(tensorBoardErrorCode { _ = try EventFileWriter(directory: file + "/below", wallTime: 1, host: "h", pid: 1) } == .directory)
    }
}
