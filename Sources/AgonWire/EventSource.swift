// The sending side of the event protocol: numbers each event within this process's incarnation,
// keeps it in a bounded spool until the aggregator acknowledges it, sends in batches, sends again
// from the first missing sequence number after a gap, a silence or an aggregator restart, and
// (with a spool folder) keeps what is unacknowledged on disk for the next start of the source.
import Foundation

/// A source of events (a worker, the coordinator, any trainer) connected to an aggregator.
///
/// A source's name is stable across restarts; each start is a new incarnation that numbers its
/// events from 0, so it never collides with what an earlier start sent. With a spool folder,
/// every event sent is also appended to the incarnation's spool file until acknowledged, and a
/// new start sends what earlier starts left there first: a stop loses nothing, a kill -9 at
/// most the events recorded since the last send (a quarter of a second).
///
/// Nothing is dropped: `record` blocks, pumping acknowledgements, while the spool is full. Use
/// from one thread.
public final class EventSource {
    public let run: String
    public let source: String
    private let socket: WireSocket
    /// Why the aggregator's handshake fails, if it does: read by `pump` until a handshake
    /// succeeds or a refusal is told, then closed (a monitor left unread stalls the socket).
    private var monitor: WireConnectionMonitor?
    private let endpoint: String
    private let usesCurve: Bool
    private var toldRefusal = false
    private let spoolLimit: Int
    private let spoolDirectory: String?
    private let log: (String) -> Void
    /// The incarnations with events to deliver, oldest first; the last is this process's current one.
    private var streams: [Stream]
    private let clock = ContinuousClock()
    private var lastSend: ContinuousClock.Instant
    private var lastAck: ContinuousClock.Instant
    /// Events the aggregator refused (a field out of range): answered, never stored.
    public private(set) var refused = 0
    private var warnedLoss = false

    /// One incarnation's events from the first unacknowledged on.
    private struct Stream {
        let incarnation: Int64
        let generation: Int64
        var events: [WireEvent] = []
        /// Every seq below is answered (stored or refused) by the aggregator.
        var acknowledged: Int64 = 0
        /// Every seq below has been sent at least once.
        var sentThrough: Int64 = 0
        /// Every seq below is in the spool file (or acknowledged).
        var persistedThrough: Int64 = 0
        var nextSeq: Int64 = 0
        var file: EventSpoolFile?
    }

    /// Batches stay under this many header bytes (the protocol's limit is 1 MiB).
    static let batchBytes = 512 << 10
    /// Unacknowledged events are sent again after this long without an acknowledgement.
    static let resendAfter: Duration = .seconds(2)
    /// A spool file is compacted to its unacknowledged events when it grows past this: the
    /// file holds what was sent since its last compaction, mostly acknowledged by then.
    static let spoolFileLimit = 1 << 20

    /// Connects to the aggregator at `endpoint` as a new incarnation of `source`.
    ///
    /// - Parameters:
    ///   - generation: the run generation the events are made in (0: none).
    ///   - spoolDirectory: where unacknowledged events are kept across restarts (nil: memory only).
    public init(context: WireContext, endpoint: String, run: String, source: String, generation: Int64 = 0,
                security: WireSocket.Security = .none, spoolLimit: Int = 200_000, spoolDirectory: String? = nil,
                log: @escaping (String) -> Void) throws {
        self.run = run
        self.source = source
        self.spoolLimit = spoolLimit
        self.spoolDirectory = spoolDirectory
        self.log = log
        var options = WireSocket.Options()
        options.security = security
        options.sendTimeoutMilliseconds = 0   // a missing aggregator never holds the caller up
        socket = try WireSocket(context, kind: .dealer, options: options)
        monitor = try? WireConnectionMonitor(socket, handshakesOnly: true)   // before connecting: the first handshake counts
        self.endpoint = endpoint
        if case .none = security { usesCurve = false } else { usesCurve = true }
        try socket.connect(endpoint)
        lastSend = clock.now
        lastAck = clock.now
        streams = []
        if let spoolDirectory {
            try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
            streams = try Self.earlierStreams(in: spoolDirectory, source: source, log: log)
        }
        streams.append(try newStream(generation: generation))
    }

    deinit {
        monitor?.close()   // before the socket it watches
        socket.close()
    }

    /// This process's current incarnation: the number its events are sent under.
    public var incarnation: Int64 { streams[streams.count - 1].incarnation }
    /// The run generation of the current incarnation.
    public var generation: Int64 { streams[streams.count - 1].generation }

    /// Events not yet acknowledged, of every incarnation.
    public var pending: Int { streams.reduce(0) { $0 + $1.events.count } }

    /// Starts a new incarnation for events made in `generation` (a worker that joined a
    /// restarted coordinator): earlier events keep their incarnation and are still delivered.
    public func startIncarnation(generation: Int64) throws {
        let current = streams[streams.count - 1]
        guard current.generation != generation || current.nextSeq > 0 else { return }
        streams.append(try newStream(generation: generation))
    }

    /// Numbers and spools an event; sends when a batch is due.
    public func record(step: Int64, wallTime: Double = Date().timeIntervalSince1970, _ payload: WireEvent.Payload) throws {
        while pending >= spoolLimit {
            try pump(timeoutMilliseconds: 200)
            if pending >= spoolLimit { try send() }
        }
        let last = streams.count - 1
        streams[last].events.append(WireEvent(seq: streams[last].nextSeq, step: step, wallTime: wallTime, payload: payload))
        streams[last].nextSeq += 1
        // Acknowledgements are read when a batch goes out: one poll per batch, not per event.
        if Int(streams[last].nextSeq - streams[last].sentThrough) >= 2048 || clock.now - lastSend >= .milliseconds(250) {
            try pump(timeoutMilliseconds: 0)
            try send()
        }
    }

    /// Sends what is unsent (and, after a silence, what is unacknowledged again), oldest
    /// incarnation first. A batch the socket cannot take now stays unsent.
    public func send() throws {
        if pending > 0, clock.now - lastAck >= Self.resendAfter {
            // No word from the aggregator: send everything again.
            for i in streams.indices where streams[i].sentThrough > streams[i].acknowledged { streams[i].sentThrough = streams[i].acknowledged }
            lastAck = clock.now
        }
        lastSend = clock.now
        for i in streams.indices {
            while streams[i].sentThrough < streams[i].nextSeq {
                let batch = self.batch(of: streams[i], from: streams[i].sentThrough)
                let end = batch.events.last!.seq + 1
                if end > streams[i].persistedThrough, let file = streams[i].file {
                    let fresh = batch.events.filter { $0.seq >= streams[i].persistedThrough }
                    try file.append(EventBatch(run: run, source: source, incarnation: batch.incarnation, generation: batch.generation, events: fresh))
                    streams[i].persistedThrough = end
                }
                // The aggregator is not there (yet): keep the batch for the next send.
                guard try trySend(batch) else { return }
                streams[i].sentThrough = end
            }
        }
    }

    /// Sends `batch` unless the socket cannot take it now (false).
    private func trySend(_ batch: EventBatch) throws(WireError) -> Bool {
        do {
            try socket.send(.events(batch))
            return true
        } catch {
            if error.code == .zmq(EAGAIN) { return false }
            throw error
        }
    }

    /// Reads acknowledgements for up to `timeoutMilliseconds` (0: only what has arrived).
    public func pump(timeoutMilliseconds: Int) throws {
        var wait = timeoutMilliseconds
        while let frames = try socket.receive(timeoutMilliseconds: wait) {
            wait = 0
            guard case .eventAck(let ack) = try? WireMessage.decode(frames) else { continue }
            acknowledge(ack)
        }
        if let monitor {
            if let failure = monitor.handshakeFailure { tellRefusal(failure) }
            if toldRefusal || monitor.hasCompletedHandshake {
                monitor.close()
                self.monitor = nil
            }
        }
    }

    /// Logs once why the aggregator turns this source away (a CURVE key it does not admit, CURVE
    /// on one side only): the events wait in the spool, and training goes on.
    private func tellRefusal(_ failure: HandshakeFailure) {
        if case .closed(let count) = failure, count < 2 { return }   // once may be an aggregator stopping
        toldRefusal = true
        let why = switch failure {
        case .refused(let status): "it does not admit this source's key (ZAP status \(status)); add it to the aggregator's authorized keys"
        case _ where !usesCurve: "it requires CURVE keys and this source has none"
        case _ where failure.isMechanismMismatch: "it does not use CURVE but this source has keys"
        default: "it broke off the CURVE handshake: the aggregator key this source has is not its public key (or it runs without CURVE)"
        }
        log("\(source): the aggregator at \(endpoint) refuses this source: \(why); events wait in the spool")
    }

    /// Flushes and waits until every event is acknowledged, or `timeout` seconds pass.
    /// Returns true when nothing is left pending; otherwise what is left is written to the
    /// spool folder for the next start of this source (or reported lost, without one).
    public func drain(timeout: Double) throws -> Bool {
        let deadline = clock.now + .seconds(timeout)
        try send()
        while pending > 0 && clock.now < deadline {
            try pump(timeoutMilliseconds: 100)
            try send()
        }
        guard pending > 0 else {
            // Everything is stored: the spool files have nothing left to give a next start.
            for i in streams.indices {
                streams[i].file?.remove()
                streams[i].file = nil
            }
            return true
        }
        if spoolDirectory != nil {
            try persistAll()
            for i in streams.indices { if let file = streams[i].file { compact(i, file) } }
            log("\(source): \(pending) event(s) not yet acknowledged by the aggregator are kept in \(spoolDirectory!) for the next start")
        } else {
            log("\(source): \(pending) event(s) were not acknowledged by the aggregator and are lost (no spool folder)")
        }
        return false
    }

    /// Writes every unacknowledged event not yet in its spool file (a stop on a signal).
    public func persistAll() throws {
        for i in streams.indices where streams[i].persistedThrough < streams[i].nextSeq {
            guard let file = streams[i].file else { continue }
            let fresh = streams[i].events.filter { $0.seq >= streams[i].persistedThrough }
            if !fresh.isEmpty {
                try file.append(EventBatch(run: run, source: source, incarnation: streams[i].incarnation,
                                           generation: streams[i].generation, events: fresh))
            }
            streams[i].persistedThrough = streams[i].nextSeq
        }
    }

    private func acknowledge(_ ack: EventAck) {
        guard ack.source == source, let i = streams.firstIndex(where: { $0.incarnation == ack.incarnation }) else { return }
        lastAck = clock.now
        if ack.refused > 0 {
            refused += Int(ack.refused)
            log("\(source): the aggregator refused \(ack.refused) event(s) and will never store them: \(ack.reason)")
        }
        var next = min(ack.nextSequence, streams[i].nextSeq)
        if next < streams[i].acknowledged && ack.receivedThrough > streams[i].acknowledged {
            // The aggregator stored this batch but no longer holds what it acknowledged before
            // (its run.db was replaced): what it lacks cannot be sent again.
            if !warnedLoss { log("\(source): the aggregator no longer holds events it acknowledged (seq < \(streams[i].acknowledged)); was its run.db replaced?") }
            warnedLoss = true
            next = min(ack.receivedThrough, streams[i].nextSeq)
        }
        if next > streams[i].acknowledged {
            streams[i].events.removeFirst(Int(next - streams[i].acknowledged))
            streams[i].acknowledged = next
            streams[i].sentThrough = max(streams[i].sentThrough, next)
            streams[i].persistedThrough = max(streams[i].persistedThrough, next)
        } else if ack.nextSequence < ack.receivedThrough {
            // Events before this batch never arrived (a gap, or an aggregator that restarted and
            // lost what was in flight): send again from the first missing one.
            streams[i].sentThrough = max(streams[i].acknowledged, min(streams[i].sentThrough, ack.nextSequence))
        }
        guard streams[i].events.isEmpty else {
            if let file = streams[i].file, file.size > Self.spoolFileLimit { compact(i, file) }
            return
        }
        if i < streams.count - 1 && streams[i].acknowledged == streams[i].nextSeq {
            streams[i].file?.remove()   // an earlier incarnation, all delivered
            streams.remove(at: i)
        } else {
            streams[i].file?.truncate()
        }
    }

    /// Rewrites a large spool file with only its unacknowledged events.
    private func compact(_ i: Int, _ file: EventSpoolFile) {
        do {
            try file.rewrite([EventBatch(run: run, source: source, incarnation: streams[i].incarnation, generation: streams[i].generation,
                                         events: streams[i].events.filter { $0.seq < streams[i].persistedThrough })])
        } catch {
            log("\(source): cannot compact the event spool: \(error)")
        }
    }

    /// The next batch of `stream` from `seq`, under the batch size.
    private func batch(of stream: Stream, from seq: Int64) -> EventBatch {
        var index = Int(seq - stream.acknowledged)
        var events: [WireEvent] = []
        var bytes = 64
        while index < stream.events.count && (events.isEmpty || bytes < Self.batchBytes) {
            bytes += Self.size(of: stream.events[index])
            events.append(stream.events[index])
            index += 1
        }
        return EventBatch(run: run, source: source, incarnation: stream.incarnation, generation: stream.generation, events: events)
    }

    /// A new incarnation: its number is the time in microseconds since 1970, above any before.
    private func newStream(generation: Int64) throws -> Stream {
        var number = Int64(Date().timeIntervalSince1970 * 1_000_000)
        if let last = streams.last?.incarnation { number = max(number, last + 1) }
        var stream = Stream(incarnation: number, generation: generation)
        if let spoolDirectory {
            // Taken (a start within the same microsecond elsewhere): the next number.
            while true {
                if let file = try EventSpoolFile(directory: spoolDirectory, source: source, incarnation: stream.incarnation) {
                    if file.size > 0 { file.truncate() }
                    stream.file = file
                    break
                }
                stream = Stream(incarnation: stream.incarnation + 1, generation: generation)
            }
        }
        return stream
    }

    /// What earlier starts of `source` left in `directory` and no live process holds.
    private static func earlierStreams(in directory: String, source: String, log: (String) -> Void) throws -> [Stream] {
        var streams: [Stream] = []
        for incarnation in EventSpoolFile.incarnations(in: directory, source: source) {
            guard let file = try EventSpoolFile(directory: directory, source: source, incarnation: incarnation) else { continue }
            let (events, generation, skipped) = file.events(source: source)
            if skipped > 0 { log("\(source): \(file.path): a record cut short (a kill during a write) was skipped") }
            guard let first = events.first else {
                file.remove()
                continue
            }
            // Sequence numbers from the first kept event on, without holes: an event missing in
            // the middle was acknowledged before the file was compacted, and is skipped.
            let kept = events.filter { $0.seq >= first.seq }
            var stream = Stream(incarnation: incarnation, generation: generation, events: [], acknowledged: first.seq,
                                sentThrough: first.seq, persistedThrough: kept.last!.seq + 1, nextSeq: first.seq, file: file)
            for event in kept where event.seq == stream.nextSeq {
                stream.events.append(event)
                stream.nextSeq += 1
            }
            log("\(source): \(stream.events.count) event(s) an earlier start (incarnation \(incarnation)) left unacknowledged are sent first")
            streams.append(stream)
        }
        return streams
    }

    private static func size(of event: WireEvent) -> Int {
        switch event.payload {
        case .scalars(let values): 32 + values.reduce(0) { $0 + 12 + $1.tag.utf8.count }
        case .image(let tag, _, _, let png): 48 + tag.utf8.count + png.count
        case .worker(let host, _, _): 48 + host.utf8.count
        case .alarm(let name, let message): 48 + name.utf8.count + message.utf8.count
        case .generation(_, _, let settings): 48 + settings.utf8.count
        }
    }
}
