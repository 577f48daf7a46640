// WireMessage.decode: each kind of bad input gives a WireError with its own code, and random
// bytes or truncated messages give an error or a valid message, never a crash.

import AgonWire
import Testing

/// A malformed message and the error code it must give.
struct Rejection: Sendable, CustomTestStringConvertible {
    var name: String
    var frames: [[UInt8]]
    var code: WireError.Code
    var maxPayloadBytes = WireMessage.defaultMaximumPayloadBytes
    var testDescription: String { name }
}

private let heartbeat: [UInt8] = [3, 6, 0, 0, 0, 0, 0, 0, 0, 0]
/// step 7, phase 3, rank 1, losses 0 and 0.
private let gradientsHeader: [UInt8] = [3, 4, 7, 0, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

let rejections: [Rejection] = [
    Rejection(name: "no frames", frames: [], code: .malformed),
    Rejection(name: "empty header", frames: [[]], code: .truncated),
    Rejection(name: "header without kind", frames: [[1]], code: .truncated),
    Rejection(name: "heartbeat cut short", frames: [[3, 6, 1, 2, 3]], code: .truncated),
    Rejection(name: "join without pid", frames: [[3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]], code: .truncated),
    Rejection(name: "version 1", frames: [[1] + heartbeat.dropFirst()], code: .wrongVersion),
    Rejection(name: "version 0", frames: [[0, 6]], code: .wrongVersion),
    Rejection(name: "version 2 (before welcome's aggregator)", frames: [[2] + heartbeat.dropFirst()], code: .wrongVersion),
    Rejection(name: "kind 0", frames: [[3, 0, 0, 0, 0, 0, 0, 0, 0, 0]], code: .unknownKind),
    Rejection(name: "kind 200", frames: [[3, 200]], code: .unknownKind),
    Rejection(name: "kind 255", frames: [[3, 255, 0]], code: .unknownKind),
    Rejection(name: "trailing header byte", frames: [heartbeat + [0]], code: .malformed),
    Rejection(name: "trailing bytes after gradients fields", frames: [gradientsHeader + [9, 9], []], code: .malformed),
    Rejection(name: "payload of 5 bytes", frames: [gradientsHeader, [0, 0, 0, 0, 0]], code: .malformed),
    Rejection(name: "payload over the limit", frames: [gradientsHeader, [UInt8](repeating: 0, count: 16)], code: .oversized, maxPayloadBytes: 12),
    Rejection(name: "header over 1 MiB", frames: [[3, 3] + [UInt8](repeating: 0, count: 1 << 20)], code: .oversized),
    Rejection(name: "string length past the end", frames: [[3, 3, 100, 0, 0, 0, 0x61, 0x62, 0x63]], code: .truncated),
    Rejection(name: "string length 2^32-1", frames: [[3, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0x61]], code: .truncated),
    Rejection(name: "string length cut short", frames: [[3, 3, 1, 0]], code: .truncated),
    Rejection(name: "invalid UTF-8", frames: [[3, 3, 2, 0, 0, 0, 0xFF, 0xFE]], code: .malformed),
    Rejection(name: "overlong UTF-8", frames: [[3, 3, 2, 0, 0, 0, 0xC0, 0xAF]], code: .malformed),
    Rejection(name: "payload on a heartbeat", frames: [heartbeat, []], code: .malformed),
    Rejection(name: "gradients without payload", frames: [gradientsHeader], code: .malformed),
    Rejection(name: "parameters without payload", frames: [[3, 5] + [UInt8](repeating: 0, count: 33)], code: .malformed),
    Rejection(name: "three frames", frames: [gradientsHeader, [], []], code: .malformed),
    Rejection(name: "phase with bit 2", frames: [[3, 4, 7, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], []], code: .malformed),
]

@Suite struct WireMessageRejectionTests {
    @Test(arguments: rejections)
    func rejects(_ rejection: Rejection) {
        do {
            let message = try WireMessage.decode(rejection.frames, maxPayloadBytes: rejection.maxPayloadBytes)
            Issue.record("decoded \(message) instead of failing")
        } catch {
            #expect(error.code == rejection.code, "\(error)")
            #expect(!error.message.isEmpty && !error.message.contains("\n"))
        }
    }

    @Test func errorMessagesNameWhatWasWrong() {
        #expect(message(of: [[2, 6]]) == "message of protocol version 2; this peer speaks version 3")
        #expect(message(of: [[3, 42]]) == "unknown message kind 42 in protocol version 3")
        #expect(message(of: [[3, 3, 100, 0, 0, 0, 0x61]]) == "refused header: reason claims 100 bytes but only 1 remain")
        #expect(message(of: [heartbeat, []]) == "heartbeat message has a payload frame; it takes none")
    }

    @Test func randomFramesNeverCrash() {
        var random = SplitMix64(seed: 0x5EED)
        var decoded = 0
        for _ in 0..<10_000 {
            var frames: [[UInt8]] = []
            for _ in 0..<Int(random.next() % 4) {
                var frame = (0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                // Most frames get a valid version and kind, so that the fields are exercised too.
                if !frame.isEmpty, frames.isEmpty, random.next() % 4 != 0 { frame[0] = WireMessage.protocolVersion }
                if frame.count > 1, frames.isEmpty, random.next() % 4 != 0 { frame[1] = UInt8(1 + random.next() % 8) }
                frames.append(frame)
            }
            if (try? WireMessage.decode(frames, maxPayloadBytes: 32)) != nil { decoded += 1 }
        }
        #expect(decoded > 0, "no random input decoded: the generator misses the valid space")
    }

    @Test(arguments: everyKind)
    func everyTruncationFailsOrDecodes(_ message: WireMessage) {
        let frames = message.encoded()
        for length in 0..<frames[0].count {
            var cut = frames
            cut[0] = Array(frames[0].prefix(length))
            #expect(throws: WireError.self) { try WireMessage.decode(cut) }
        }
        guard frames.count == 2 else { return }
        for length in 0..<frames[1].count {
            var cut = frames
            cut[1] = Array(frames[1].prefix(length))
            do {
                let shorter = try WireMessage.decode(cut)
                #expect(length % 4 == 0 && shorter.payloadValues?.count == length / 4)
            } catch {
                #expect(length % 4 != 0 && error.code == .malformed)
            }
        }
    }

    private func message(of frames: [[UInt8]]) -> String? {
        do {
            _ = try WireMessage.decode(frames)
            return nil
        } catch {
            return error.message
        }
    }
}

/// A small seeded generator (SplitMix64), so that the random test is the same on every run.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
