// The aggregator's loop: every event batch from every source is written to run.db before it is
// acknowledged; duplicates are ignored; a failed write keeps the batch for retry and sends no
// acknowledgement, so the source keeps it too. TensorBoard files and plots follow the store.
import AgonRunStore
import AgonWire
import Foundation

/// Collects the events of a run and keeps them without loss.
///
/// One thread runs it (`run`); it may be handed to that thread once, hence `@unchecked Sendable`.
public final class Aggregator: @unchecked Sendable {
    public let configuration: AggregatorConfiguration
    /// The endpoint actually bound.
    public let endpoint: String
    let log: @Sendable (String) -> Void
    private let context: WireContext
    private let socket: WireSocket
    /// Admits the sources' CURVE keys (nil without CURVE).
    private let zap: ZAPHandler?
    let store: RunStore
    private var pending: [(peer: [UInt8], batch: EventBatch)] = []
    private var lastWriteError: String?
    /// One TensorBoard writer per source folder, at most ``openWriterLimit`` open at once.
    private lazy var tensorBoard = EventFileWriterCache(capacity: Self.openWriterLimit) { [configuration] folder in
        try EventFileWriter(directory: configuration.runDirectory + "/tensorboard/" + folder,
                            wallTime: Date().timeIntervalSince1970, host: ProcessInfo.processInfo.hostName, pid: getpid())
    }
    /// The most TensorBoard files open at once, whatever the number of sources: well under the
    /// usual 1,024 descriptors a process may hold.
    static let openWriterLimit = 128
    /// Lines about dropped or refused messages, rate-limited.
    private var dropLog = DropLog(prefix: "aggregator: ")
    /// Stored events not yet in the TensorBoard files, written when intake is idle so that a
    /// burst is stored and acknowledged first. What a killed aggregator owed them is replayed
    /// from run.db when it starts again (`tensorboard_through/<source>` in the meta table).
    private var tensorBoardQueue: [TensorBoardBatch] = []
    /// Events of a generation not announced yet, held back from the TensorBoard files until
    /// its announcement says which step it resumed after (Aggregator+Restarts.swift).
    var tensorBoardWaiting: [TensorBoardBatch] = []
    /// Each generation announced so far, and the step it resumed after.
    var resumes: [Int64: Int64] = [:]
    private var tensorBoardQueued = 0
    private var aggregate: EventFileWriter?
    private var lastRender = ContinuousClock.now
    var dirty = false
    /// The health detectors, fed every event as it is stored (rebuilt from run.db at start).
    var health: HealthMonitor
    /// Alarms raised but not yet in run.db (a write failed): stored at the next poll.
    var unstoredAlarms: [HealthAlarm] = []
    /// Why the last write of alarms failed, logged once until it changes or succeeds.
    var lastAlarmWriteError: String?
    private let clock = ContinuousClock()

    /// Binds the socket, then opens (or creates) `RUN/run.db`: a port in use leaves no new run.db.
    public init(configuration: AggregatorConfiguration, log: @escaping @Sendable (String) -> Void) throws {
        self.configuration = configuration
        self.log = log
        context = try WireContext()
        var options = WireSocket.Options()
        options.routerMandatory = true
        options.sendTimeoutMilliseconds = 100
        (zap, options.security) = try ZAPHandler.serving(context: context, secretKey: configuration.curveSecretKey,
                                                         authorizedKeys: configuration.authorizedKeys,
                                                         onRefusal: { log("aggregator: refused a source: \($0)") })
        socket = try WireSocket(context, kind: .router, options: options)
        endpoint = try socket.bind(configuration.bind)
        try FileManager.default.createDirectory(atPath: configuration.runDirectory, withIntermediateDirectories: true)
        let store = try RunStore(path: configuration.runDirectory + "/run.db")
        self.store = store
        let (monitor, missed, skipped) = try HealthMonitor.rebuilt(from: store)
        for generation in try store.generations() { resumes[generation.generation] = generation.resumedFrom }
        health = monitor
        let info = try JSONSerialization.data(withJSONObject: ["endpoint": endpoint, "pid": Int(getpid())], options: [.sortedKeys])
        try Data(info).write(to: URL(fileURLWithPath: configuration.runDirectory + "/aggregator.json"), options: .atomic)
        log("aggregator: listening on \(endpoint)\(zap == nil ? "" : " with CURVE"); \(try store.scalarCount()) scalar values already in \(configuration.runDirectory)/run.db")
        if skipped > 0 { log("aggregator: skipped \(skipped) stored value(s) or image(s) out of range when rebuilding the health alarms (an older build stored them)") }
        try writeRestarts()
        try replayTensorBoard()
        let alarms = try store.alarms().filter { $0.worker == HealthMonitor.source }
        if !alarms.isEmpty { log("aggregator: \(alarms.count) alarm(s) already raised: \(alarms.map(\.name).joined(separator: ", "))") }
        handle(missed)
    }

    deinit {
        aggregate?.close()
        tensorBoard.closeAll()
        socket.close()
        zap?.stop()
    }

    /// Serves until `stop` is set; renders once more and returns.
    public func run(stop: StopCondition) throws {
        while !stop() {
            do {
                if let frames = try socket.receive(timeoutMilliseconds: tensorBoardQueued > 0 ? 0 : 100) {
                    receive(frames)
                    if tensorBoardQueued > 200_000 { flushTensorBoard() }
                } else {
                    flushTensorBoard()
                }
            } catch {
                guard error.code == .oversized else { throw error }
                dropped("dropped a message: \(error)")
            }
            if !pending.isEmpty { storePending() }
            if !unstoredAlarms.isEmpty { storeAlarms() }
            if dirty && clock.now - lastRender >= .seconds(configuration.renderInterval) { render() }
        }
        lingerForLastEvents()
        if !pending.isEmpty { storePending() }
        handle(health.finish())
        flushTensorBoard()
        render(live: false)
    }

    /// After a stop: sources stopped by the same signal (Ctrl-C reaches a whole process group,
    /// a cluster engine stops every process of a job) send their last events now. Takes them
    /// until the socket is quiet for half a second, for 3 s at most.
    private func lingerForLastEvents() {
        let end = clock.now + .seconds(3)
        var lastMessage = clock.now
        while clock.now < end && clock.now - lastMessage < .milliseconds(500) {
            if let frames = try? socket.receive(timeoutMilliseconds: 100) {
                receive(frames)
                lastMessage = clock.now
            }
            if !pending.isEmpty { storePending() }
        }
    }

    /// Asked between polls: true to stop.
    public typealias StopCondition = () -> Bool

    private func receive(_ frames: [[UInt8]]) {
        guard let peer = frames.first else { return }
        let message: WireMessage
        do {
            message = try WireMessage.decode(Array(frames.dropFirst()))
        } catch {
            let from = "dropped a message from \(WireSocket.describePeer(peer).prefix(32)): \(error)"
            // An events batch whose header reads but whose events do not (a seq out of range,
            // an unknown payload code) is answered as refused, so its source stops resending.
            guard let header = EventBatch.header(of: Array(frames.dropFirst())) else { return dropped(from) }
            dropped(from + "; answered as \(header.count) refused event(s)")
            refuse(header, reason: "batch not stored: \(error)", to: peer)
            return
        }
        guard case .events(let batch) = message else {
            dropped("dropped an unexpected \(message.kindName) message")
            return
        }
        if let problem = EventLimits.problem(run: batch.run, source: batch.source) {
            dropped("refused a batch of \(batch.events.count) event(s) from \(WireSocket.describePeer(peer).prefix(32)): \(problem)")
            refuse(EventBatch.Header(run: batch.run, source: batch.source, incarnation: batch.incarnation,
                                     generation: batch.generation, count: Int32(batch.events.count)),
                   reason: "batch not stored: \(problem)", to: peer)
            return
        }
        pending.append((peer, batch))
        storePending()
    }

    /// Logs `line` within the drop log's rate.
    private func dropped(_ line: String) {
        for line in dropLog.record(line) { log(line) }
    }

    /// Answers a batch that will never be stored: every event of it refused, nothing stored, and
    /// `receivedThrough` equal to `nextSequence`, so that its source is asked for no resend.
    private func refuse(_ header: EventBatch.Header, reason: String, to peer: [UInt8]) {
        let next = (try? store.nextSequence(worker: header.source, incarnation: header.incarnation)) ?? 0
        try? socket.send(.eventAck(EventAck(source: header.source, incarnation: header.incarnation, nextSequence: next,
                                            receivedThrough: next, refused: max(header.count, 0), reason: reason)), to: peer)
    }

    /// Writes every pending batch, in arrival order, and acknowledges each once stored. A failure
    /// leaves it (and those after it) pending, to try again at the next poll.
    private func storePending() {
        while let (peer, batch) = pending.first {
            // Checked before storing: an event out of range is stored as refused (its seq
            // answered, its payload dropped), so nothing stored can crash a later reader.
            let problems = batch.events.map { EventLimits.problem(seq: $0.seq, step: $0.step, wallTime: $0.wallTime, payload: $0.payload) }
            let events = zip(batch.events, problems).map { event, problem in
                problem == nil
                    ? RunEvent(worker: batch.source, incarnation: batch.incarnation, generation: batch.generation,
                               seq: event.seq, step: event.step, wallTime: event.wallTime, payload: Self.payload(event.payload))
                    : RunEvent(worker: batch.source, incarnation: batch.incarnation, generation: batch.generation,
                               seq: event.seq, step: 0, wallTime: event.wallTime.isFinite ? event.wallTime : .nan,
                               payload: .refused(reason: problem!))
            }
            let fresh: [Bool]
            do {
                fresh = try store.append(events)
            } catch {
                let text = "\(error)"
                if text != lastWriteError { log("aggregator: cannot store events, keeping them to try again: \(text)") }
                lastWriteError = text
                return
            }
            if lastWriteError != nil { log("aggregator: storing events again") }
            lastWriteError = nil
            pending.removeFirst()
            let refused = problems.compactMap { $0 }
            if let first = refused.first {
                dropped("refused \(refused.count) event(s) of \(batch.source.debugDescription.prefix(60)): \(first)")
            }
            let usable = zip(fresh, problems).map { $0 && $1 == nil }
            watchHealth(source: batch.source, zip(events, usable).filter(\.1).map(\.0))
            let new = zip(batch.events, usable).filter(\.1).map(\.0)
            if !new.isEmpty {
                dirty = true
                queueForTensorBoard(TensorBoardBatch(source: SourceIncarnation(worker: batch.source, incarnation: batch.incarnation),
                                                     generation: batch.generation, events: new))
                for case .generation(let number, let resumedFrom, _) in new.map(\.payload) { announce(number, resumedFrom: resumedFrom) }
            }
            let next = (try? store.nextSequence(worker: batch.source, incarnation: batch.incarnation)) ?? 0
            let through = batch.events.last.map { $0.seq + 1 } ?? 0   // seq < Int64.max: checked in decoding
            // A peer that does not read its acknowledgements must not block intake: the send
            // times out, and the source resends after its silence, which is harmless.
            // A resent batch is answered with its refusals again: the check is the same, and the
            // source may have missed the first answer.
            try? socket.send(.eventAck(EventAck(source: batch.source, incarnation: batch.incarnation, nextSequence: next, receivedThrough: through,
                                                refused: Int32(refused.count), reason: refused.first ?? "")), to: peer)
        }
    }

    /// A source name as a folder name: letters, digits, `.`, `_` and `-` kept, anything else
    /// `_`, never empty or starting with a dot, so that no name reaches outside its folder.
    public static func folderName(_ source: String) -> String {
        let kept = String(source.unicodeScalars.map { scalar -> Character in
            let ok = (scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar)))
            return ok ? Character(scalar) : "_"
        }.prefix(100))
        return kept.isEmpty || kept.hasPrefix(".") || kept == "aggregate" ? "source-" + kept : kept
    }

    static func payload(_ payload: WireEvent.Payload) -> RunEvent.Payload {
        switch payload {
        case .scalars(let values): .scalars(values.map { ScalarValue(tag: $0.tag, value: $0.value) })
        case .image(let tag, let width, let height, let png): .image(tag: tag, width: Int(width), height: Int(height), png: png)
        case .worker(let host, let pid, let rank): .worker(host: host, pid: pid, rank: rank)
        case .alarm(let name, let message): .alarm(name: name, message: message)
        case .generation(let number, let resumedFrom, let settings): .generation(number: number, resumedFrom: resumedFrom, settings: settings)
        }
    }

    /// Writes the queued events to the TensorBoard files, then records, per incarnation, that
    /// every event below its first missing seq is in them.
    func flushTensorBoard() {
        guard !tensorBoardQueue.isEmpty else { return }
        var sources = Set<SourceIncarnation>()
        for batch in tensorBoardQueue {
            writeTensorBoard(source: batch.source.worker, current(batch))
            sources.insert(batch.source)
        }
        tensorBoardQueue.removeAll(keepingCapacity: true)
        tensorBoardQueued = 0
        for source in sources {
            do {
                try store.setMeta(Self.tensorBoardKey(source), String(try store.nextSequence(worker: source.worker, incarnation: source.incarnation)))
            } catch {
                log("aggregator: cannot record TensorBoard progress of \(source.worker): \(error)")
            }
        }
    }

    /// The meta key of how far an incarnation's events are in the TensorBoard files.
    private static func tensorBoardKey(_ source: SourceIncarnation) -> String {
        "tensorboard_through/" + source.worker + (source.incarnation == 0 ? "" : "/\(source.incarnation)")
    }

    /// Writes to the TensorBoard files what a previous aggregator stored but had not written.
    private func replayTensorBoard() throws {
        // The aggregator's own events are alarms, which TensorBoard files do not hold.
        for info in try store.incarnations() where info.worker != HealthMonitor.source {
            let source = SourceIncarnation(worker: info.worker, incarnation: info.incarnation)
            let through = Int64(try store.meta(Self.tensorBoardKey(source)) ?? "") ?? 0
            guard through < (try store.nextSequence(worker: source.worker, incarnation: source.incarnation)) else { continue }
            var events = try store.scalarEvents(worker: source.worker, incarnation: source.incarnation, from: through).map {
                WireEvent(seq: $0.seq, step: $0.step, wallTime: $0.wallTime, payload: .scalars($0.values.map { WireScalar(tag: $0.tag, value: $0.value) }))
            }
            events += try store.imageEvents(worker: source.worker, incarnation: source.incarnation, from: through).map {
                WireEvent(seq: $0.seq, step: $0.step, wallTime: $0.wallTime, payload: .image(tag: $0.tag, width: Int32($0.width), height: Int32($0.height), png: $0.png))
            }
            events.sort { $0.seq < $1.seq }
            // Rows an older build stored without these checks are skipped, and said so.
            let usable = events.filter { EventLimits.problem(seq: $0.seq, step: $0.step, wallTime: $0.wallTime, payload: $0.payload) == nil }
            if usable.count < events.count {
                log("aggregator: skipped \(events.count - usable.count) stored event(s) of \(source.worker) out of range for TensorBoard (an older build stored them)")
                events = usable
            }
            if !events.isEmpty {
                log("aggregator: writing \(events.count) stored event(s) of \(source.worker) the TensorBoard files did not have yet")
                queueForTensorBoard(TensorBoardBatch(source: source, generation: info.generation, events: events))
            }
        }
        flushTensorBoard()
    }

    /// Adds `batch` to what the next flush writes, or holds it back until its generation is announced.
    func queueForTensorBoard(_ batch: TensorBoardBatch) {
        if batch.generation > 1 && resumes[batch.generation] == nil {
            tensorBoardWaiting.append(batch)
        } else {
            tensorBoardQueue.append(batch)
            tensorBoardQueued += batch.events.count
        }
    }

    /// The writer of a source's TensorBoard folder (a bounded number stay open).
    func writer(of source: String) throws -> EventFileWriter {
        try tensorBoard.writer(for: Self.folderName(source))
    }

    /// Appends new scalars and images to the source's own TensorBoard folder.
    private func writeTensorBoard(source: String, _ events: [WireEvent]) {
        guard !events.isEmpty else { return }
        do {
            let writer = try writer(of: source)
            for event in events {
                switch event.payload {
                case .scalars(let values):
                    try writer.addScalars(step: event.step, wallTime: event.wallTime, values.map { (tag: $0.tag, value: Float($0.value)) })
                case .image(let tag, let width, let height, let png):
                    try writer.addImage(step: event.step, wallTime: event.wallTime, tag: tag, width: Int(width), height: Int(height),
                                        colorspace: 3, png: png)
                default: break
                }
            }
            try writer.flush()
        } catch {
            log("aggregator: TensorBoard file for \(source): \(error)")
        }
    }

    /// The writer of `tensorboard/aggregate/`, made on first use.
    func aggregateWriter() throws -> EventFileWriter {
        if let aggregate { return aggregate }
        let writer = try EventFileWriter(directory: configuration.runDirectory + "/tensorboard/aggregate",
                                         wallTime: Date().timeIntervalSince1970, host: ProcessInfo.processInfo.hostName, pid: getpid())
        aggregate = writer
        return writer
    }

    /// How many TensorBoard files are open now (at most ``openWriterLimit``, and one more for
    /// the aggregate).
    var openWriterCount: Int { tensorBoard.openCount }

    /// Draws the plots, sample grids and report from run.db.
    func render(live: Bool = true) {
        flushTensorBoard()
        do {
            try writeAggregateMeans(final: !live)
        } catch {
            log("aggregator: TensorBoard means: \(error)")
        }
        lastRender = clock.now
        dirty = false
        do {
            try Renderer(store: store, runDirectory: configuration.runDirectory).renderAll(live: live)
        } catch {
            log("aggregator: rendering failed: \(error)")
        }
    }
}
