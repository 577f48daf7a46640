// SafeTensors: golden bytes from REFERENCE.md, round trips, every rejection the format demands,
// atomic writes, and the TensorFlow reference file written by the Python safetensors package.

import Foundation
import Testing
import AgonNN
import AgonTensor

/// The 8-byte little-endian length, `header` padded with spaces to `padTo`, then `data`.
private func file(_ header: String, padTo multiple: Int = 1, data: [UInt8] = []) -> [UInt8] {
    var json = Array(header.utf8)
    while json.count % multiple != 0 { json.append(UInt8(ascii: " ")) }
    return littleEndian(UInt64(json.count)) + json + data
}

private func littleEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

/// One F32 entry of a header.
private func entry(_ name: String, _ shape: [Int], _ begin: Int, _ end: Int, dtype: String = "F32") -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
}

/// A fresh empty directory under the system temporary directory.
private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "agon-safetensors-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A checkpoint error's code, or nil if decoding succeeded or threw something else.
private func decodeErrorCode(_ bytes: [UInt8]) -> CheckpointError.Code? {
    do {
        _ = try SafeTensors.decode(bytes, source: "test input")
        return nil
    } catch let error as CheckpointError {
        return error.code
    } catch {
        return nil
    }
}

@Suite struct SafeTensorsTests {
    @Test func encodesTheReferenceGolden() throws {
        let checkpoint = SafeTensors(tensors: [("attn.0", Tensor(shape: [1, 2, 3], values: [0, 1, 2, 3, 4, 5]))])
        let header = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
        let expected = file(header, padTo: 8, data: floatBytes([0, 1, 2, 3, 4, 5]))
        #expect(Array(expected[0..<8]) == [64, 0, 0, 0, 0, 0, 0, 0])
        #expect(checkpoint.encoded() == expected)

        let decoded = try SafeTensors.decode(expected, source: "golden")
        #expect(decoded.tensors.map(\.name) == ["attn.0"])
        #expect(decoded["attn.0"]?.shape == [1, 2, 3])
        #expect(decoded["attn.0"]?.scalars == [0, 1, 2, 3, 4, 5])
        #expect(decoded["missing"] == nil)
        #expect(decoded.metadata.isEmpty)
    }

    @Test func encodesTheEmptyGolden() throws {
        let empty: [UInt8] = [0x08, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]
        #expect(SafeTensors().encoded() == empty)
        let decoded = try SafeTensors.decode(empty, source: "empty")
        #expect(decoded.tensors.isEmpty && decoded.metadata.isEmpty)
    }

    @Test func roundTripsTensorsAndMetadata() throws {
        let metadata = ["model": "mlp_gan", "seed": "1234", "odd \"key\"\n\t\u{1}": "ünï ☃ 𝄞 \\ /"]
        let tensors: [(name: String, tensor: Tensor)] = [
            ("g/0_dense/kernel", Tensor(shape: [2, 3], values: [1.5, -2, 0, .infinity, -0.0, 3e-38])),
            ("empty", Tensor(zeros: [0, 4])),
            ("scalar", Tensor(shape: [], values: [7])),
            ("a/bias", Tensor(shape: [2], values: [.greatestFiniteMagnitude, -1])),
        ]
        let bytes = SafeTensors(metadata: metadata, tensors: tensors).encoded()
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect(headerLength % 8 == 0 && bytes[2..<8].allSatisfy { $0 == 0 })
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"#))

        let decoded = try SafeTensors.decode(bytes, source: "round trip")
        #expect(decoded.metadata == metadata)
        #expect(decoded.tensors.map(\.name) == tensors.map(\.name))
        for (name, tensor) in tensors {
            #expect(decoded[name]?.shape == tensor.shape)
            #expect(decoded[name]?.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern))
        }
        #expect(decoded.encoded() == bytes)
    }

    @Test func subscriptFollowsEditsOfTensors() {
        var checkpoint = SafeTensors(tensors: [("a", Tensor(shape: [1], values: [1]))])
        checkpoint.tensors.append(("b", Tensor(shape: [1], values: [2])))
        #expect(checkpoint["b"]?.scalars == [2])
        checkpoint.tensors.removeFirst()
        #expect(checkpoint["a"] == nil)
        #expect(checkpoint["b"]?.scalars == [2])
    }

    /// A malformed input, the error code it must give, and a label for the test report.
    struct Rejection: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var bytes: [UInt8]
        var code: CheckpointError.Code
        init(_ label: String, _ bytes: [UInt8], _ code: CheckpointError.Code) {
            (testDescription, self.bytes, self.code) = (label, bytes, code)
        }
    }

    static let rejections: [Rejection] = [
        Rejection("shorter than 8 bytes", [8, 0, 0], .truncated),
        Rejection("header over 100,000,000 bytes", littleEndian(100_000_001) + Array("{}".utf8), .headerTooLarge),
        Rejection("header past the end", littleEndian(100) + Array("{}".utf8), .truncated),
        Rejection("header length near UInt64.max", littleEndian(.max) + Array("{}".utf8), .headerTooLarge),
        Rejection("invalid UTF-8", littleEndian(3) + [0x7B, 0xFF, 0x7D], .invalidHeader),
        Rejection("invalid JSON", file(#"{"a":"#), .invalidHeader),
        Rejection("JSON array, not object", file("[]"), .invalidHeader),
        Rejection("text after the object", file("{} {}"), .invalidHeader),
        Rejection("NUL padding", file("{}") + [0], .trailingBytes),
        Rejection("deep nesting", file("{\"a\":" + String(repeating: "[", count: 5000)), .invalidHeader),
        Rejection("number as metadata value", file(#"{"__metadata__":{"seed":1234}}"#), .invalidMetadata),
        Rejection("metadata not an object", file(#"{"__metadata__":"x"}"#), .invalidMetadata),
        Rejection("BF16 dtype", file("{" + entry("a", [1], 0, 2, dtype: "BF16") + "}", data: [0, 0]), .unsupportedDType),
        Rejection("unknown dtype", file("{" + entry("a", [1], 0, 4, dtype: "F99") + "}", data: [0, 0, 0, 0]), .unsupportedDType),
        Rejection("missing shape", file(#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .invalidHeader),
        Rejection("negative extent", file("{" + entry("a", [-1], 0, 4) + "}", data: [0, 0, 0, 0]), .invalidHeader),
        Rejection("fractional offset", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, data: [0, 0, 0, 0]), .invalidHeader),
        Rejection("three offsets", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: [0, 0, 0, 0]), .invalidHeader),
        Rejection("not starting at 0", file("{" + entry("a", [1], 4, 8) + "}", data: Array(repeating: 0, count: 8)), .invalidOffsets),
        Rejection("hole", file("{" + entry("a", [1], 0, 4) + "," + entry("b", [1], 8, 12) + "}", data: Array(repeating: 0, count: 12)), .invalidOffsets),
        Rejection("overlap", file("{" + entry("a", [2], 0, 8) + "," + entry("b", [1], 4, 8) + "}", data: Array(repeating: 0, count: 8)), .invalidOffsets),
        Rejection("reversed range", file("{" + entry("a", [1], 4, 0) + "}", data: [0, 0, 0, 0]), .invalidOffsets),
        Rejection("size not shape × 4", file("{" + entry("a", [2], 0, 4) + "}", data: [0, 0, 0, 0]), .sizeMismatch),
        Rejection("shape product overflows", file("{" + entry("a", [1 << 40, 1 << 40], 0, 4) + "}", data: [0, 0, 0, 0]), .sizeMismatch),
        Rejection("data shorter than offsets", file("{" + entry("a", [2], 0, 8) + "}", data: [0, 0, 0, 0]), .truncated),
        Rejection("trailing bytes", file("{" + entry("a", [1], 0, 4) + "}", data: [0, 0, 0, 0, 9]), .trailingBytes),
        Rejection("duplicate names", file("{" + entry("a", [1], 0, 4) + "," + entry("a", [1], 4, 8) + "}", data: Array(repeating: 0, count: 8)), .duplicateName),
        Rejection("duplicate metadata", file(#"{"__metadata__":{},"__metadata__":{}}"#), .duplicateName),
    ]

    @Test(arguments: rejections)
    func rejectsMalformedInput(_ rejection: Rejection) {
        #expect(decodeErrorCode(rejection.bytes) == rejection.code, "\(rejection.testDescription)")
    }

    @Test func errorMessagesNameTheInput() throws {
        let error = try #require(throws: CheckpointError.self) {
            try SafeTensors.decode(file(#"{"__metadata__":{"seed":1}}"#), source: "run7.safetensors")
        }
        #expect(error.description.contains("run7.safetensors"))
        #expect(error.description.contains("seed"))
    }

    @Test func everyTruncationAndCorruptionGivesATypedError() {
        let valid = SafeTensors(metadata: ["k": "v"], tensors: [
            ("x", Tensor(shape: [2, 2], values: [1, 2, 3, 4])), ("y", Tensor(shape: [3], values: [5, 6, 7])),
        ]).encoded()
        for length in 0..<valid.count {
            #expect(decodeErrorCode(Array(valid[0..<length])) != nil, "prefix of \(length) bytes")
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15  // SplitMix64, fixed seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<2000 {
            var corrupt = valid
            for _ in 0..<(1 + next() % 3) {
                corrupt[Int(next() % UInt64(corrupt.count))] = UInt8(truncatingIfNeeded: next())
            }
            do {
                _ = try SafeTensors.decode(corrupt, source: "corrupt")
            } catch {
                #expect(error is CheckpointError)
            }
        }
    }

    @Test func writeIsAtomicAndLeavesNoTemporaryFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.safetensors"
        let first = SafeTensors(metadata: ["step": "1"], tensors: [("w", Tensor(shape: [2], values: [1, 2]))])
        try first.write(to: path)
        let second = SafeTensors(metadata: ["step": "2"], tensors: [("w", Tensor(shape: [3], values: [3, 4, 5]))])
        try second.write(to: path)

        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.safetensors"])
        let read = try SafeTensors.read(path: path)
        #expect(read.metadata == ["step": "2"])
        #expect(read["w"]?.scalars == [3, 4, 5])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == second.encoded())
    }

    @Test func fileErrorsAreTypedAndNameThePath() throws {
        let missing = "/nonexistent-agon-dir/model.safetensors"
        let readError = try #require(throws: CheckpointError.self) { try SafeTensors.read(path: missing) }
        #expect(readError.code == .io && readError.posixCode == ENOENT)
        #expect(readError.description.contains(missing))
        let writeError = try #require(throws: CheckpointError.self) { try SafeTensors().write(to: missing) }
        #expect(writeError.code == .io && writeError.description.contains(missing))
    }

    @Test func readsTheTensorFlowReferenceFile() throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let fixtures = ProcessInfo.processInfo.environment["AGON_FIXTURES"]
            ?? packageRoot.appendingPathComponent("../shared/fixtures").standardized.path
        let checkpoint = try SafeTensors.read(path: fixtures + "/mlp_gan.safetensors")
        #expect(checkpoint.metadata["model"] == "mlp_gan")
        let kernel = try #require(checkpoint["before/g/0_dense/kernel"])
        #expect(kernel.shape == [100, 128])
        #expect(kernel.scalars.allSatisfy { $0.isFinite } && kernel.scalars.contains { $0 != 0 })
        #expect(checkpoint.tensors.count > 10)
    }
}
