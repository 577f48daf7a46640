// The few protobuf messages of TensorBoard's event files that Agon writes (event.proto and
// summary.proto), encoded by hand: varints, length-delimited fields, little-endian fixed32/64.

/// TensorBoard's `Event` and `Summary` messages, reduced to the fields Agon writes.
///
/// Encoding follows proto3 as TensorFlow's writers produce it: a plain scalar field at its
/// default (0, empty) is left out; a field inside a `oneof` is written whenever it is set, even
/// when 0 (a scalar of 0.0 still carries `simple_value`). Fields go in field-number order.
/// Field keys (field << 3 | wire type) are listed where each is written.
public enum EventProtobuf {
    /// `tensorflow.Event`: one record of an event file.
    public struct Event: Sendable, Equatable {
        /// The `what` oneof of `Event`: the file header, or a summary.
        public enum Content: Sendable, Equatable {
            /// `file_version` (3): "brain.Event:2" in the first record of every file.
            case fileVersion(String)
            /// `summary` (5): the values logged at this step.
            case summary(Summary)
            /// `session_log` (7) with `status` START: the run started again at this step, and
            /// TensorBoard's reader drops what it read before at this step and after.
            case sessionStart
        }

        /// `wall_time` (1, double): seconds since the Unix epoch.
        public var wallTime: Double
        /// `step` (2, int64): the training step.
        public var step: Int64
        /// What the event carries, or nil for none.
        public var content: Content?

        /// An event at `wallTime` and `step` carrying `content`.
        public init(wallTime: Double, step: Int64 = 0, content: Content?) {
            self.wallTime = wallTime
            self.step = step
            self.content = content
        }

        /// The protobuf wire bytes of this event.
        public func encoded() -> [UInt8] {
            var encoder = ProtobufEncoder()
            encoder.double(wallTime, key: 0x09, always: false)
            encoder.varint(UInt64(bitPattern: step), key: 0x10, always: false)
            switch content {
            case .fileVersion(let version):
                encoder.lengthDelimited(Array(version.utf8), key: 0x1A, always: true)
            case .summary(let summary):
                encoder.lengthDelimited(summary.encoded(), key: 0x2A, always: true)
            case .sessionStart:
                encoder.lengthDelimited([0x08, 0x01], key: 0x3A, always: true)   // SessionLog{status (1): START = 1}
            case nil:
                break
            }
            return encoder.bytes
        }
    }

    /// `tensorflow.Summary`: the values logged at one step.
    public struct Summary: Sendable, Equatable {
        /// `value` (1, repeated).
        public var values: [Value]

        /// A summary of `values`, written in this order.
        public init(values: [Value]) {
            self.values = values
        }

        /// The protobuf wire bytes of this summary.
        public func encoded() -> [UInt8] {
            var encoder = ProtobufEncoder()
            for value in values { encoder.lengthDelimited(value.encoded(), key: 0x0A, always: true) }
            return encoder.bytes
        }

        /// `Summary.Value`: one tagged scalar or image.
        public struct Value: Sendable, Equatable {
            /// The `value` oneof of `Summary.Value`, as far as Agon uses it.
            public enum Content: Sendable, Equatable {
                /// `simple_value` (2, float): the form of scalar every TensorBoard loader reads.
                case simpleValue(Float)
                /// `image` (4): an encoded image.
                case image(Image)
            }

            /// `tag` (1, string): the series name, e.g. "loss/generator".
            public var tag: String
            /// The scalar or image.
            public var content: Content

            /// A value named `tag` holding `content`.
            public init(tag: String, content: Content) {
                self.tag = tag
                self.content = content
            }

            /// The protobuf wire bytes of this value.
            public func encoded() -> [UInt8] {
                var encoder = ProtobufEncoder()
                encoder.lengthDelimited(Array(tag.utf8), key: 0x0A, always: false)
                switch content {
                case .simpleValue(let value):
                    encoder.float(value, key: 0x15)
                case .image(let image):
                    encoder.lengthDelimited(image.encoded(), key: 0x22, always: true)
                }
                return encoder.bytes
            }
        }

        /// `Summary.Image`: an image already encoded as PNG.
        public struct Image: Sendable, Equatable {
            /// `height` (1, int32), in pixels.
            public var height: Int32
            /// `width` (2, int32), in pixels.
            public var width: Int32
            /// `colorspace` (3, int32): 1 gray, 2 gray and alpha, 3 RGB, 4 RGBA.
            public var colorspace: Int32
            /// `encoded_image_string` (4, bytes): the PNG file's bytes.
            public var encodedImage: [UInt8]

            /// An image of `width` × `height` pixels in `colorspace`, encoded as `encodedImage`.
            public init(height: Int32, width: Int32, colorspace: Int32, encodedImage: [UInt8]) {
                self.height = height
                self.width = width
                self.colorspace = colorspace
                self.encodedImage = encodedImage
            }

            /// The protobuf wire bytes of this image.
            public func encoded() -> [UInt8] {
                var encoder = ProtobufEncoder()
                encoder.varint(UInt64(bitPattern: Int64(height)), key: 0x08, always: false)
                encoder.varint(UInt64(bitPattern: Int64(width)), key: 0x10, always: false)
                encoder.varint(UInt64(bitPattern: Int64(colorspace)), key: 0x18, always: false)
                encoder.lengthDelimited(encodedImage, key: 0x22, always: false)
                return encoder.bytes
            }
        }
    }
}

/// Appends protobuf fields to a byte buffer. A key is `field << 3 | wire type`; every key Agon
/// writes is below 128, so it is one byte.
extension EventProtobuf {
    /// The bytes of `Event{wall_time, step, summary{value{tag, simple_value}...}}`, the same as
    /// `Event(...).encoded()` gives, written into one buffer without the nested arrays: the
    /// aggregator encodes one of these per training step of every worker.
    public static func scalarEvent(wallTime: Double, step: Int64, _ values: [(tag: String, value: Float)]) -> [UInt8] {
        func varintLength(_ value: UInt64) -> Int { value < 0x80 ? 1 : 1 + varintLength(value >> 7) }
        func valueLength(_ tag: String) -> Int {
            let n = tag.utf8.count
            return (n > 0 ? 1 + varintLength(UInt64(n)) + n : 0) + 5
        }
        let summaryLength = values.reduce(0) { $0 + 1 + varintLength(UInt64(valueLength($1.tag))) + valueLength($1.tag) }
        var encoder = ProtobufEncoder(capacity: summaryLength + 32)
        encoder.double(wallTime, key: 0x09, always: false)
        encoder.varint(UInt64(bitPattern: step), key: 0x10, always: false)
        encoder.key(0x2A, length: summaryLength)
        for (tag, value) in values {
            encoder.key(0x0A, length: valueLength(tag))
            if !tag.isEmpty {
                encoder.key(0x0A, length: tag.utf8.count)
                encoder.append(tag.utf8)
            }
            encoder.float(value, key: 0x15)
        }
        return encoder.bytes
    }
}

struct ProtobufEncoder {
    /// The fields written so far.
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// A length-delimited field's key and length; its payload is appended next.
    mutating func key(_ key: UInt8, length: Int) {
        bytes.append(key)
        appendVarint(UInt64(length))
    }

    /// Appends UTF-8 bytes.
    mutating func append(_ utf8: String.UTF8View) { bytes.append(contentsOf: utf8) }

    /// Wire type 0: `value` as a base-128 varint, low group first. Negative int32/int64 values
    /// arrive sign-extended to 64 bits and take 10 bytes, as protobuf specifies.
    mutating func varint(_ value: UInt64, key: UInt8, always: Bool) {
        guard always || value != 0 else { return }
        bytes.append(key)
        appendVarint(value)
    }

    /// Wire type 1: `value` as 8 little-endian bytes. Proto3 leaves out +0.0 but writes −0.0.
    mutating func double(_ value: Double, key: UInt8, always: Bool) {
        guard always || value.bitPattern != 0 else { return }
        bytes.append(key)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Wire type 5: `value` as 4 little-endian bytes, always written (Agon's only float field,
    /// `simple_value`, sits in a oneof).
    mutating func float(_ value: Float, key: UInt8) {
        bytes.append(key)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Wire type 2: a varint length, then `payload` (a string's UTF-8, raw bytes, or a message).
    mutating func lengthDelimited(_ payload: [UInt8], key: UInt8, always: Bool) {
        guard always || !payload.isEmpty else { return }
        bytes.append(key)
        appendVarint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    private mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}
