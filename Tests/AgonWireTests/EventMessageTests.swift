// Event batches and acknowledgements: every payload kind round-trips, the layout is the one
// docs/PROTOCOL.md draws, and lying counts or truncations give a WireError.
@testable import AgonWire
import Testing

@Suite struct EventMessageTests {
    static let batch = EventBatch(run: "run-1", source: "worker-0", incarnation: 1_796_000_000_000_001, generation: 2, events: [
        WireEvent(seq: 0, step: 1, wallTime: 1_700_000_000.25, payload: .worker(host: "h", pid: 42, rank: 0)),
        WireEvent(seq: 1, step: 1, wallTime: 1_700_000_000.5, payload: .scalars([WireScalar(tag: "g_loss", value: 0.75),
                                                                                 WireScalar(tag: "d_loss", value: -1e-300)])),
        WireEvent(seq: 2, step: 500, wallTime: 1_700_000_001, payload: .image(tag: "samples", width: 3, height: 2, png: [0x89, 0x50, 0, 255])),
        WireEvent(seq: 3, step: 501, wallTime: 1_700_000_002, payload: .alarm(name: "divergence", message: "loss is NaN")),
        WireEvent(seq: 4, step: 502, wallTime: 0, payload: .scalars([])),
        WireEvent(seq: 5, step: 1000, wallTime: 3, payload: .generation(number: 2, resumedFrom: 1000, settings: #"{"model":"mlp"}"#)),
    ])

    @Test func everyPayloadRoundTrips() throws {
        for message in [WireMessage.events(Self.batch), .eventAck(EventAck(source: "worker-0", incarnation: 7, nextSequence: 5, receivedThrough: 9)),
                        .eventAck(EventAck(source: "x", incarnation: 1, nextSequence: 9, receivedThrough: 9, refused: 2, reason: "step out of range"))] {
            #expect(try WireMessage.decode(message.encoded()) == message)
        }
    }

    @Test func ackLayoutIsTheDocumentedOne() {
        let bytes = WireMessage.eventAck(EventAck(source: "w", incarnation: 5, nextSequence: 258, receivedThrough: 259, refused: 1, reason: "r")).encoded()
        #expect(bytes == [[3, 10, 1, 0, 0, 0, UInt8(ascii: "w"), 5, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0,
                           1, 0, 0, 0, 1, 0, 0, 0, UInt8(ascii: "r")]])
    }

    @Test func scalarEventLayoutIsTheDocumentedOne() {
        let batch = EventBatch(run: "", source: "s", incarnation: 3, generation: 4, events: [
            WireEvent(seq: 1, step: 2, wallTime: 0.5, payload: .scalars([WireScalar(tag: "a", value: 1)]))])
        let expected: [UInt8] = [3, 9, 0, 0, 0, 0, 1, 0, 0, 0, UInt8(ascii: "s"),
                                 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
                                 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0xE0, 0x3F, 1,
                                 1, 0, 0, 0, 1, 0, 0, 0, UInt8(ascii: "a"), 0, 0, 0, 0, 0, 0, 0xF0, 0x3F]
        #expect(WireMessage.events(batch).encoded() == [expected])
    }

    @Test func negativeIncarnationsAreMalformed() {
        var header = WireMessage.events(EventBatch(run: "", source: "", events: [])).encoded()[0]
        header.replaceSubrange(10..<18, with: [UInt8](repeating: 0xFF, count: 8))   // incarnation = -1
        #expect(throws: WireError.self) { try WireMessage.decode([header]) }
    }

    @Test func everyTruncationIsAnError() {
        let header = WireMessage.events(Self.batch).encoded()[0]
        for length in 0..<header.count {
            #expect(throws: WireError.self) { try WireMessage.decode([Array(header.prefix(length))]) }
        }
    }

    @Test func lyingCountsAreRejectedBeforeAllocating() {
        var header = WireMessage.events(EventBatch(run: "", source: "", events: [])).encoded()[0]
        header.replaceSubrange(26..<30, with: [0xFF, 0xFF, 0xFF, 0x7F])   // count = Int32.max
        #expect(throws: WireError.self) { try WireMessage.decode([header]) }
    }
}
