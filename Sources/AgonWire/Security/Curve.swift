// CURVE keys: making key pairs, Z85 text to bytes and back, and key files (40 Z85 characters
// and a newline), so that a worker's public key can be handed to the coordinator as a file.

import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CURVE key pairs and their Z85 text form (ZeroMQ RFC 32).
///
/// A key is 32 bytes, written as 40 Z85 characters. A key file holds the 40 characters and a
/// newline; surrounding white space is ignored when reading.
public enum Curve {
    /// Characters in a Z85 key.
    public static let keyTextLength = 40
    /// Bytes in a key.
    public static let keyByteCount = 32
    /// The largest key file read: more is not a key file.
    static let maximumKeyFileBytes = 4096

    /// A new key pair from libsodium (`zmq_curve_keypair`), as Z85 text.
    ///
    /// - Throws: `WireError` with code `.zmq(ENOTSUP)` if this libzmq was built without CURVE.
    public static func generateKeyPair() throws(WireError) -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: keyTextLength + 1)
        var secretKey = [CChar](repeating: 0, count: keyTextLength + 1)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else {
            throw WireError.zmq("generating a CURVE key pair")
        }
        return (text(publicKey), text(secretKey))
    }

    /// The public key that goes with `secretKey` (`zmq_curve_public`).
    ///
    /// - Throws: `WireError` with code `.invalidKey` if `secretKey` is not 40 Z85 characters.
    public static func publicKey(forSecretKey secretKey: String) throws(WireError) -> String {
        _ = try keyBytes(secretKey, role: "secret key")
        var publicKey = [CChar](repeating: 0, count: keyTextLength + 1)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else {
            throw WireError.zmq("deriving a CURVE public key")
        }
        return text(publicKey)
    }

    /// `bytes` as Z85 text (`zmq_z85_encode`): 5 characters for every 4 bytes.
    ///
    /// - Throws: `WireError` with code `.malformed` if the byte count is not a multiple of 4.
    public static func z85Encode(_ bytes: [UInt8]) throws(WireError) -> String {
        guard bytes.count % 4 == 0 else {
            throw WireError(.malformed, "Z85 encodes a multiple of 4 bytes, got \(bytes.count)")
        }
        var output = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        guard zmq_z85_encode(&output, bytes, bytes.count) != nil else {
            throw WireError.zmq("encoding \(bytes.count) bytes as Z85")
        }
        return text(output)
    }

    /// The bytes of Z85 `text` (`zmq_z85_decode`): 4 bytes for every 5 characters.
    ///
    /// - Throws: `WireError` with code `.malformed` if the length is not a non-zero multiple
    ///   of 5 or a character is outside the Z85 alphabet.
    public static func z85Decode(_ text: String) throws(WireError) -> [UInt8] {
        let count = text.utf8.count
        guard count > 0, count % 5 == 0, !text.utf8.contains(0) else {
            throw WireError(.malformed, "Z85 text must be a non-zero multiple of 5 characters, got \(count)")
        }
        var output = [UInt8](repeating: 0, count: count / 5 * 4)
        guard zmq_z85_decode(&output, text) != nil else {
            throw WireError(.malformed, "\"\(text)\" is not Z85 text: a character is outside the Z85 alphabet or a group is too large")
        }
        return output
    }

    /// Whether `key` is a CURVE key as Z85 text: 40 characters that decode to 32 bytes.
    public static func isValidKey(_ key: String) -> Bool {
        (try? keyBytes(key, role: "key")) != nil
    }

    /// Reads a key file: 40 Z85 characters, white space around them ignored.
    ///
    /// - Throws: `WireError` with code `.io` naming the path if it cannot be read, or
    ///   `.invalidKey` if it does not hold one key.
    public static func readKeyFile(at path: String) throws(WireError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw WireError.io(path, errno: errno) }
        defer { _ = close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: maximumKeyFileBytes + 1)
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + total, $0.count - total) }
            if count < 0 {
                if errno == EINTR { continue }
                throw WireError.io(path, errno: errno)
            }
            if count == 0 { break }
            total += count
        }
        guard total <= maximumKeyFileBytes else {
            throw WireError(.invalidKey, "\(path): over \(maximumKeyFileBytes) bytes; a key file holds 40 Z85 characters and a newline")
        }
        let key = String(decoding: buffer[0..<total], as: UTF8.self).trimmingWhiteSpace()
        guard isValidKey(key) else {
            throw WireError(.invalidKey, "\(path): not a CURVE key; a key file holds 40 Z85 characters and a newline")
        }
        return key
    }

    /// Writes `key` and a newline to `path`, replacing the file. A secret key's file is made
    /// readable by its owner only (mode 0600); a public key's by everyone (0644).
    ///
    /// - Throws: `WireError` with code `.invalidKey` if `key` is not 40 Z85 characters, or
    ///   `.io` naming the path if it cannot be written.
    public static func writeKeyFile(_ key: String, to path: String, isSecret: Bool) throws(WireError) {
        _ = try keyBytes(key, role: isSecret ? "secret key" : "public key")
        let mode: mode_t = isSecret ? 0o600 : 0o644
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw WireError.io(path, errno: errno) }
        defer { _ = close(descriptor) }
        // O_CREAT keeps the mode of an existing file: set it, so an old 0644 file cannot leak a secret.
        guard fchmod(descriptor, mode) == 0 else { throw WireError.io(path, errno: errno) }
        let bytes = Array((key + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw WireError.io(path, errno: errno)
            }
            written += count
        }
    }

    /// The 32 bytes of a Z85 key, or an `.invalidKey` error naming its `role`.
    static func keyBytes(_ key: String, role: String) throws(WireError) -> [UInt8] {
        guard key.utf8.count == keyTextLength, let bytes = try? z85Decode(key), bytes.count == keyByteCount else {
            throw WireError(.invalidKey, "CURVE \(role) is not \(keyTextLength) Z85 characters (got \(key.utf8.count) characters)")
        }
        return bytes
    }

    /// A NUL-terminated C buffer as a String.
    private static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, carriage returns and newlines.
    func trimmingWhiteSpace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
