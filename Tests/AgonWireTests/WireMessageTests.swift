// WireMessage: every kind survives encode then decode, and the bytes of join, heartbeat,
// gradients and parameters are exactly those docs/PROTOCOL.md lays out.

import AgonWire
import Foundation
import Testing

/// One message of every kind, with ordinary values.
let everyKind: [WireMessage] = [
    .join(.init(workerID: "6F9619FF-8B86-D011-B42D-00C04FC964FF", host: "node-7.cluster", pid: 41_234)),
    .welcome(.init(rank: 2, world: 4, step: 1_000, configuration: #"{"model":"seed-mlp","batch":32}"#)),
    .welcome(.init(rank: -1, world: 2, step: 0, configuration: "{}", generation: 7, aggregator: "tcp://agon-aggregator:5556")),
    .refused(.init(reason: "protocol version 2 is not spoken here")),
    .gradients(.init(step: 17, phase: WireMessage.Phase.both, rank: 1, generatorLoss: 0.69, discriminatorLoss: 1.38,
                      values: [0.5, -1.25, 3e-8, 1e30])),
    .parameters(.init(step: 17, phase: WireMessage.Phase.generator, rank: 0, world: 3, epoch: 2, epochStart: 12, values: [1, 2, 3])),
    .heartbeat(.init(step: 99)),
    .complete(.init(step: 10_000)),
    .leave(.init(reason: "SIGTERM", stopped: true)),
    .sharedMemoryOffer(.init(path: "/dev/shm/agon-worker-77-a1b2c3d4e5f6", token: Array(0..<16), count: 214_673)),
    .sharedMemoryAnswer(.accepted(path: "/dev/shm/agon-coordinator-5-00ff00ff00ff", token: Array(repeating: 9, count: 16), count: 214_673)),
    .sharedMemoryAnswer(.refused("the coordinator runs with shared memory off")),
    .sharedGradients(.init(step: 17, phase: WireMessage.Phase.both, rank: 1, generatorLoss: 0.69, discriminatorLoss: 1.38, values: [])),
    .sharedParameters(.init(step: 18, phase: WireMessage.Phase.discriminator, rank: 0, world: 3, epoch: 2, epochStart: 12, values: []),
                      sequence: 36),
]

@Suite struct WireMessageTests {
    @Test(arguments: everyKind)
    func roundTrip(_ message: WireMessage) throws {
        let frames = message.encoded()
        #expect(frames.count == (message.kind.hasPayload ? 2 : 1))
        #expect(frames[0][0] == WireMessage.protocolVersion)
        #expect(frames[0][1] == message.kind.rawValue)
        #expect(try WireMessage.decode(frames) == message)
    }

    @Test func roundTripOfEmptyStringsAndExtremeIntegers() throws {
        let messages: [WireMessage] = [
            .join(.init(workerID: "", host: "", pid: .min)),
            .welcome(.init(rank: .max, world: .min, step: .min, configuration: "")),
            .refused(.init(reason: "")),
            .leave(.init(reason: "")),
            .heartbeat(.init(step: .max)),
            .complete(.init(step: -1)),
            .gradients(.init(step: 0, phase: 0, rank: 0, generatorLoss: -0.0, discriminatorLoss: .infinity, values: [])),
            .parameters(.init(step: .max, phase: WireMessage.Phase.discriminator, rank: -1, world: 0, epoch: .min, epochStart: .max, values: [])),
        ]
        for message in messages {
            #expect(try WireMessage.decode(message.encoded()) == message)
        }
    }

    @Test func roundTripOfUnicodeText() throws {
        let message = WireMessage.refused(.init(reason: "Ärger: 模型 diverged 🔥\u{0}end"))
        #expect(try WireMessage.decode(message.encoded()) == message)
    }

    @Test func roundTripOfBigPayload() throws {
        let values = (0..<2_500_000).map { Float($0) * 0.25 - 1e5 }
        let message = WireMessage.parameters(.init(step: 3, phase: WireMessage.Phase.both, rank: 1, world: 2, epoch: 0, epochStart: 0, values: values))
        let frames = message.encoded()
        #expect(frames[1].count == 10_000_000)
        #expect(try WireMessage.decode(frames) == message)
    }

    @Test func payloadKeepsEveryBitPattern() throws {
        let values: [Float] = [-0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let frames = WireMessage.gradients(.init(step: 1, phase: 1, rank: 0, generatorLoss: .nan, discriminatorLoss: .nan, values: values)).encoded()
        guard case .gradients(let decoded) = try WireMessage.decode(frames) else {
            Issue.record("decoded to another kind")
            return
        }
        #expect(decoded.values.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(decoded.generatorLoss.isNaN && decoded.discriminatorLoss.isNaN)
    }

    @Test func kindNumbersAreThoseOfTheProtocol() {
        let numbers = WireMessage.Kind.allCases.map { "\($0)=\($0.rawValue)" }
        #expect(numbers == ["join=1", "welcome=2", "refused=3", "gradients=4", "parameters=5", "heartbeat=6", "complete=7", "leave=8",
                            "events=9", "eventAck=10", "sharedMemoryOffer=11", "sharedMemoryAnswer=12", "sharedGradients=13",
                            "sharedParameters=14"])
        let tested = Set(everyKind.map(\.kind) + [.events, .eventAck])   // events: EventMessageTests
        #expect(tested == Set(WireMessage.Kind.allCases))
    }

    // Golden bytes, written by hand from the layouts in docs/PROTOCOL.md.

    @Test func goldenJoin() throws {
        let message = WireMessage.join(.init(workerID: "w1", host: "h", pid: 258))
        let expected: [UInt8] = [
            0x03, 0x01,                    // version 3, kind 1 (join)
            0x02, 0x00, 0x00, 0x00, 0x77, 0x31,  // workerID: length 2, "w1"
            0x01, 0x00, 0x00, 0x00, 0x68,  // host: length 1, "h"
            0x02, 0x01, 0x00, 0x00,        // pid 258
        ]
        #expect(message.encoded() == [expected])
        #expect(try WireMessage.decode([expected]) == message)
    }

    @Test func goldenHeartbeat() throws {
        let message = WireMessage.heartbeat(.init(step: 0x0102_0304_0506_0708))
        let expected: [UInt8] = [0x03, 0x06, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]
        #expect(message.encoded() == [expected])
        #expect(try WireMessage.decode([expected]) == message)
    }

    @Test func goldenGradients() throws {
        let message = WireMessage.gradients(.init(step: 7, phase: 3, rank: 1, generatorLoss: 0.5, discriminatorLoss: 1.5, values: [1.0, -2.0]))
        let header: [UInt8] = [
            0x03, 0x04,                                      // version 3, kind 4 (gradients)
            0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // step 7
            0x03,                                            // phase: generator | discriminator
            0x01, 0x00, 0x00, 0x00,                          // rank 1
            0x00, 0x00, 0x00, 0x3F,                          // generatorLoss 0.5
            0x00, 0x00, 0xC0, 0x3F,                          // discriminatorLoss 1.5
        ]
        let payload: [UInt8] = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]  // 1.0, -2.0
        #expect(message.encoded() == [header, payload])
        #expect(try WireMessage.decode([header, payload]) == message)
    }

    @Test func goldenSharedParameters() throws {
        let message = WireMessage.sharedParameters(.init(step: 2, phase: 1, rank: 1, world: 2, epoch: 0, epochStart: 0, values: []),
                                                   sequence: 0x0102)
        let header: [UInt8] = [
            0x03, 0x0E,                                      // version 3, kind 14 (sharedParameters)
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // step 2
            0x01,                                            // phase: generator
            0x01, 0x00, 0x00, 0x00,                          // rank 1
            0x02, 0x00, 0x00, 0x00,                          // world 2
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // epoch 0
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // epochStart 0
            0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sequence 0x0102
        ]
        #expect(message.encoded() == [header])
        #expect(try WireMessage.decode([header]) == message)
        #expect(throws: WireError.self) { try WireMessage.decode([header, [0, 0, 0, 0]]) }   // no payload: the values are shared
    }

    @Test func goldenSharedMemoryOffer() throws {
        let message = WireMessage.sharedMemoryOffer(.init(path: "/p", token: Array(repeating: 0xAB, count: 16), count: 3))
        let header: [UInt8] = [0x03, 0x0B, 0x02, 0x00, 0x00, 0x00, 0x2F, 0x70, 0x10, 0x00, 0x00, 0x00]
            + Array(repeating: 0xAB, count: 16) + [0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        #expect(message.encoded() == [header])
        #expect(try WireMessage.decode([header]) == message)
        var short = header
        short[8] = 0x0F   // a 15-byte token
        short.remove(at: 9)
        #expect(throws: WireError.self) { try WireMessage.decode([short]) }
    }

    @Test func goldenParametersAndWelcome() throws {
        let parameters = WireMessage.parameters(.init(step: -1, phase: 2, rank: 0, world: 2, epoch: 1, epochStart: 16, values: [0.5]))
        let parametersHeader: [UInt8] = [
            0x03, 0x05,                                      // version 3, kind 5 (parameters)
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // step -1
            0x02,                                            // phase: discriminator
            0x00, 0x00, 0x00, 0x00,                          // rank 0
            0x02, 0x00, 0x00, 0x00,                          // world 2
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // epoch 1
            0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // epochStart 16
        ]
        #expect(parameters.encoded() == [parametersHeader, [0x00, 0x00, 0x00, 0x3F]])
        let welcome = WireMessage.welcome(.init(rank: 1, world: 2, step: 256, configuration: "{}", generation: 3, aggregator: "tcp://a:1"))
        let welcomeHeader: [UInt8] = [
            0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x7B, 0x7D,
            0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // generation 3
            0x09, 0x00, 0x00, 0x00,                          // aggregator: length 9,
            0x74, 0x63, 0x70, 0x3A, 0x2F, 0x2F, 0x61, 0x3A, 0x31,  // "tcp://a:1"
        ]
        #expect(welcome.encoded() == [welcomeHeader])
        #expect(try WireMessage.decode([welcomeHeader]) == welcome)
        // A version 2 welcome (no aggregator field) is another protocol: refused, not misread.
        var older = Array(welcomeHeader.dropLast(13))
        older[0] = 0x02
        #expect(throws: WireError.self) { try WireMessage.decode([older]) }
        older[0] = 0x03
        #expect(throws: WireError.self) { try WireMessage.decode([older]) }   // truncated: the aggregator field is missing
    }

    @Test("the welcome example in docs/PROTOCOL.md decodes to the message it names")
    func documentedWelcomeExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try String(contentsOf: root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        let start = try #require(document.range(of: "aggregator \"tcp://a:1\")` is the 45 bytes\n"))
        let end = try #require(document.range(of: "` (a test decodes these)", range: start.upperBound..<document.endIndex))
        let hex = document[start.upperBound..<end.lowerBound].filter(\.isHexDigit)
        let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(Array(hex)[$0...$0 + 1]), radix: 16)! }
        #expect(bytes.count == 45)
        #expect(try WireMessage.decode([bytes]) == .welcome(.init(rank: 1, world: 2, step: 256, configuration: "{}", generation: 3, aggregator: "tcp://a:1")))
    }
}
