// The sending side of the event protocol: numbers each event, keeps it in a bounded spool until
// the aggregator acknowledges it, sends in batches, and sends again from the first missing
// sequence number after a gap, a silence or an aggregator restart.
import Foundation

/// A source of events (a worker, the coordinator, any trainer) connected to an aggregator.
///
/// Nothing is dropped: `record` blocks, pumping acknowledgements, while the spool is full. Use
/// from one thread.
public final class EventSource {
    public let run: String
    public let source: String
    private let socket: WireSocket
    private let spoolLimit: Int
    private let log: (String) -> Void
    private var spool: [WireEvent] = []       // events from `acknowledged` on, in seq order
    private var acknowledged: Int64 = 0       // every seq below is stored by the aggregator
    private var sentThrough: Int64 = 0        // every seq below has been sent at least once
    private var nextSeq: Int64 = 0
    private let clock = ContinuousClock()
    private var lastSend: ContinuousClock.Instant
    private var lastAck: ContinuousClock.Instant

    /// Batches stay under this many header bytes (the protocol's limit is 1 MiB).
    static let batchBytes = 512 << 10
    /// Unacknowledged events are sent again after this long without an acknowledgement.
    static let resendAfter: Duration = .seconds(2)

    /// Connects to the aggregator at `endpoint`.
    public init(context: WireContext, endpoint: String, run: String, source: String,
                security: WireSocket.Security = .none, spoolLimit: Int = 200_000, log: @escaping (String) -> Void) throws {
        self.run = run
        self.source = source
        self.spoolLimit = spoolLimit
        self.log = log
        var options = WireSocket.Options()
        options.security = security
        socket = try WireSocket(context, kind: .dealer, options: options)
        try socket.connect(endpoint)
        lastSend = clock.now
        lastAck = clock.now
    }

    deinit { socket.close() }

    /// Events not yet acknowledged.
    public var pending: Int { spool.count }

    /// Numbers and spools an event; sends when a batch is due.
    public func record(step: Int64, wallTime: Double = Date().timeIntervalSince1970, _ payload: WireEvent.Payload) throws {
        while spool.count >= spoolLimit {
            try pump(timeoutMilliseconds: 200)
            if spool.count >= spoolLimit { try send() }
        }
        spool.append(WireEvent(seq: nextSeq, step: step, wallTime: wallTime, payload: payload))
        nextSeq += 1
        // Acknowledgements are read when a batch goes out: one poll per batch, not per event.
        if Int(nextSeq - sentThrough) >= 2048 || clock.now - lastSend >= .milliseconds(250) {
            try pump(timeoutMilliseconds: 0)
            try send()
        }
    }

    /// Sends what is unsent (and, after a silence, what is unacknowledged again).
    public func send() throws {
        if !spool.isEmpty, sentThrough > acknowledged, clock.now - lastAck >= Self.resendAfter {
            sentThrough = acknowledged   // no word from the aggregator: send everything again
            lastAck = clock.now
        }
        var index = Int(sentThrough - acknowledged)
        while index < spool.count {
            var batch: [WireEvent] = []
            var bytes = 64
            while index < spool.count && (batch.isEmpty || bytes < Self.batchBytes) {
                bytes += Self.size(of: spool[index])
                batch.append(spool[index])
                index += 1
            }
            try socket.send(.events(EventBatch(run: run, source: source, events: batch)))
            sentThrough = batch.last!.seq + 1
        }
        lastSend = clock.now
    }

    /// Reads acknowledgements for up to `timeoutMilliseconds` (0: only what has arrived).
    public func pump(timeoutMilliseconds: Int) throws {
        var wait = timeoutMilliseconds
        while let frames = try socket.receive(timeoutMilliseconds: wait) {
            wait = 0
            guard case .eventAck(let ack) = try? WireMessage.decode(frames) else { continue }
            acknowledge(ack)
        }
    }

    /// Flushes and waits until every event is acknowledged, or `timeout` seconds pass.
    /// Returns true when nothing is left pending.
    public func drain(timeout: Double) throws -> Bool {
        let deadline = clock.now + .seconds(timeout)
        try send()
        while !spool.isEmpty && clock.now < deadline {
            try pump(timeoutMilliseconds: 100)
            try send()
        }
        if !spool.isEmpty { log("\(source): \(spool.count) event(s) were not acknowledged by the aggregator") }
        return spool.isEmpty
    }

    private func acknowledge(_ ack: EventAck) {
        lastAck = clock.now
        let next = min(ack.nextSequence, nextSeq)
        if next > acknowledged {
            spool.removeFirst(Int(next - acknowledged))
            acknowledged = next
        }
        // Events before this batch never arrived (a gap, or an aggregator that restarted and
        // lost what was in flight): send again from the first missing one.
        if ack.nextSequence < ack.receivedThrough { sentThrough = max(acknowledged, min(sentThrough, ack.nextSequence)) }
    }

    private static func size(of event: WireEvent) -> Int {
        switch event.payload {
        case .scalars(let values): 32 + values.reduce(0) { $0 + 12 + $1.tag.utf8.count }
        case .image(let tag, _, _, let png): 48 + tag.utf8.count + png.count
        case .worker(let host, _, _): 48 + host.utf8.count
        case .alarm(let name, let message): 48 + name.utf8.count + message.utf8.count
        }
    }
}
