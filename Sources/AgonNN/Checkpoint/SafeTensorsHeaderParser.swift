// A strict JSON parser for the safetensors header. JSONSerialization would do, except that it
// silently keeps one of two duplicate keys, and the format must reject a name given twice.

/// Parses one safetensors header: a JSON object, keeping member order and rejecting duplicates.
///
/// Numbers keep their text so that shapes and offsets are checked as exact integers. Nesting is
/// capped, so hostile input gives an error rather than a stack overflow.
struct SafeTensorsHeaderParser {
    /// A parsed JSON value.
    indirect enum Value {
        case string(String)
        case number(String)
        case array([Value])
        case object([(key: String, value: Value)])
        case bool(Bool)
        case null

        /// What the value is, for error messages: "a number", "an array", ...
        var kind: String {
            switch self {
            case .string: return "a string"
            case .number: return "a number"
            case .array: return "an array"
            case .object: return "an object"
            case .bool: return "a boolean"
            case .null: return "null"
            }
        }
    }

    /// The header is a flat object of objects; anything deeper is not safetensors.
    static let maxDepth = 8

    /// The header's bytes, already checked to be UTF-8.
    let bytes: [UInt8]
    /// Names the input in error messages.
    let source: String
    private var position = 0

    /// A parser over the header `bytes` of the input named `source`.
    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// The members of the header object, in order; only whitespace may follow it.
    mutating func parseDocument() throws -> [(key: String, value: Value)] {
        skipWhitespace()
        guard peek == UInt8(ascii: "{") else { throw invalid("the header does not start with '{'") }
        guard case .object(let members) = try parseValue(depth: 0) else { throw invalid("expected an object") }
        skipWhitespace()
        guard position == bytes.count else { throw invalid("unexpected text after the header object") }
        return members
    }

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func invalid(_ what: String) -> CheckpointError {
        CheckpointError(.invalidHeader, "\(source): header is not valid JSON: \(what) at header byte \(position)")
    }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ character: Unicode.Scalar) throws {
        skipWhitespace()
        guard peek == UInt8(ascii: character) else { throw invalid("expected '\(character)'") }
        position += 1
    }

    private mutating func parseValue(depth: Int) throws -> Value {
        guard depth < Self.maxDepth else { throw invalid("nesting deeper than \(Self.maxDepth) levels") }
        skipWhitespace()
        guard let byte = peek else { throw invalid("unexpected end") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw invalid("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws -> Value {
        position += 1
        var members: [(key: String, value: Value)] = []
        var keys = Set<String>()
        skipWhitespace()
        if peek == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw invalid("expected a string key") }
            let key = try parseString()
            guard keys.insert(key).inserted else {
                throw CheckpointError(.duplicateName, "\(source): the header gives \"\(key)\" twice; every name must appear once")
            }
            try expect(":")
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            guard let byte = peek, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") else {
                throw invalid("expected ',' or '}'")
            }
            position += 1
            if byte == UInt8(ascii: "}") { return .object(members) }
        }
    }

    private mutating func parseArray(depth: Int) throws -> Value {
        position += 1
        var items: [Value] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard let byte = peek, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") else {
                throw invalid("expected ',' or ']'")
            }
            position += 1
            if byte == UInt8(ascii: "]") { return .array(items) }
        }
    }

    private mutating func parseLiteral(_ word: String) throws {
        let text = Array(word.utf8)
        guard bytes.count - position >= text.count, Array(bytes[position..<position + text.count]) == text else {
            throw invalid("unexpected character")
        }
        position += text.count
    }

    /// Consumes a run of ASCII digits and returns how many there were.
    private mutating func skipDigits() -> Int {
        let start = position
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        return position - start
    }

    private mutating func parseNumber() throws -> Value {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
        } else if skipDigits() == 0 {
            throw invalid("malformed number")
        }
        if peek == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() > 0 else { throw invalid("malformed number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() > 0 else { throw invalid("malformed number") }
        }
        return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    private mutating func parseString() throws -> String {
        position += 1
        var text: [UInt8] = []
        while let byte = peek {
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escape = peek else { throw invalid("unterminated string") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"): text += try parseUnicodeEscape().utf8
                default: throw invalid("invalid escape in a string")
                }
            case 0..<0x20:
                throw invalid("unescaped control character in a string")
            default:
                text.append(byte)
            }
        }
        throw invalid("unterminated string")
    }

    /// The character of a `\uHHHH` escape (the `\u` consumed), joining a surrogate pair.
    private mutating func parseUnicodeEscape() throws -> Character {
        var code = try parseHex4()
        if (0xD800..<0xDC00).contains(code) {
            guard peek == UInt8(ascii: "\\") else { throw invalid("unpaired surrogate in a string") }
            position += 1
            guard peek == UInt8(ascii: "u") else { throw invalid("unpaired surrogate in a string") }
            position += 1
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw invalid("unpaired surrogate in a string") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else { throw invalid("unpaired surrogate in a string") }
        return Character(scalar)
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard bytes.count - position >= 4,
              let code = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw invalid("malformed \\u escape") }
        position += 4
        return code
    }
}
