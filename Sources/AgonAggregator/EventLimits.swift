// The documented range of every field of an events batch (docs/PROTOCOL.md, "Limits and
// validation"): checked before an event is stored and acknowledged, and again when run.db is
// replayed, so that nothing a source sends, or an older build stored, can crash a reader.
import AgonRunStore
import AgonWire

/// The ranges the aggregator accepts, and the checks that apply them.
///
/// An event outside them is stored as refused (its seq answered, its payload dropped); a batch
/// whose header is outside them (its source name) is answered as refused and not stored.
public enum EventLimits {
    /// Steps: 0 ≤ step < 2⁵³, so that every step is exact as a Double (charts, JSON) and
    /// differences of steps never overflow.
    public static let steps: Range<Int64> = 0..<(1 << 53)
    /// A source name: 1 to 200 bytes of UTF-8 without control characters.
    public static let sourceBytes = 1...200
    /// `run`: free text of at most 200 bytes (may be empty); the aggregator does not compare it.
    public static let runBytes = 0...200
    /// A scalar's tag, an image's tag, an alarm's name: 1 to 200 bytes, no control characters.
    public static let tagBytes = 1...200
    /// Values in one scalars event.
    public static let scalarsPerEvent = 0...4_096
    /// An image's width and height in pixels.
    public static let imageSide = 1...8_192
    /// An image's pixels (width × height): 16 Mi, 64 MiB once decoded to RGBA.
    public static let imagePixels = 16_777_216
    /// Host names, alarm messages and a generation's settings.
    public static let textBytes = 0...65_536

    /// Why the batch's header cannot be stored under, or nil if it can.
    public static func problem(run: String, source: String) -> String? {
        if let problem = nameProblem(source, "source", sourceBytes) { return problem }
        if !runBytes.contains(run.utf8.count) { return "run is \(run.utf8.count) bytes; at most \(runBytes.upperBound)" }
        return nil
    }

    /// Why `event` cannot be stored, or nil if it can.
    public static func problem(seq: Int64, step: Int64, wallTime: Double, payload: WireEvent.Payload) -> String? {
        guard steps.contains(step) else { return "seq \(seq): step \(step) is outside 0..<2^53" }
        guard wallTime.isFinite, wallTime >= 0 else { return "seq \(seq): wall time \(wallTime) is not a finite number ≥ 0" }
        let problem: String?
        switch payload {
        case .scalars(let values):
            problem = scalarsPerEvent.contains(values.count)
                ? values.lazy.compactMap { nameProblem($0.tag, "tag", tagBytes) }.first
                : "\(values.count) values in one event; at most \(scalarsPerEvent.upperBound)"
        case .image(let tag, let width, let height, let png):
            problem = nameProblem(tag, "image tag", tagBytes) ?? imageProblem(width: Int(width), height: Int(height), png: png)
        case .worker(let host, let pid, let rank):
            problem = !textBytes.contains(host.utf8.count) ? "host is \(host.utf8.count) bytes"
                : pid < 0 ? "pid \(pid) is negative" : rank < -1 ? "rank \(rank) is below -1" : nil
        case .alarm(let name, let message):
            problem = nameProblem(name, "alarm name", tagBytes) ?? (textBytes.contains(message.utf8.count) ? nil : "alarm message is \(message.utf8.count) bytes")
        case .generation(let number, let resumedFrom, let settings):
            problem = number < 1 ? "generation \(number) is below 1"
                : !steps.contains(resumedFrom) ? "resumedFrom \(resumedFrom) is outside 0..<2^53"
                : textBytes.contains(settings.utf8.count) ? nil : "settings are \(settings.utf8.count) bytes"
        }
        return problem.map { "seq \(seq): \($0)" }
    }

    /// Why an image cannot be stored: its sides, its pixel count, and its PNG, which must start
    /// with the PNG signature and an IHDR of the same width and height (so that no reader
    /// decodes more pixels than were checked here).
    public static func imageProblem(width: Int, height: Int, png: [UInt8]) -> String? {
        guard imageSide.contains(width), imageSide.contains(height) else {
            return "image is \(width)×\(height); each side must be 1 to \(imageSide.upperBound)"
        }
        guard width * height <= imagePixels else { return "image is \(width)×\(height); at most \(imagePixels) pixels" }
        // Signature (8), IHDR length (4), "IHDR" (4), width (4, big-endian), height (4).
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard png.count >= 24, Array(png[0..<8]) == signature, Array(png[12..<16]) == Array("IHDR".utf8) else {
            return "image png of \(png.count) bytes is not a PNG (no signature and IHDR)"
        }
        let big = { (offset: Int) in png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        guard big(16) == width, big(20) == height else {
            return "image claims \(width)×\(height) but its PNG is \(big(16))×\(big(20))"
        }
        return nil
    }

    /// Why `name` is not a valid name of `what`: its UTF-8 length outside `bytes`, or a control
    /// character in it.
    static func nameProblem(_ name: String, _ what: String, _ bytes: ClosedRange<Int>) -> String? {
        guard bytes.contains(name.utf8.count) else { return "\(what) is \(name.utf8.count) bytes; \(bytes.lowerBound) to \(bytes.upperBound)" }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return "\(what) \(name.debugDescription.prefix(60)) holds a control character"
        }
        return nil
    }
}
