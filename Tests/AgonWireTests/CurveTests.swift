// Curve and AuthorizedKeys: key pairs, Z85 against RFC 32's test vector, key files and folders
// of keys, and the errors for keys that are not keys.

import AgonWire
import Foundation
import Testing

/// A new empty folder under the system's temporary folder, removed by the caller.
func temporaryFolder() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("agon-wire-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct CurveTests {
    @Test func keyPairsAreFreshZ85Keys() throws {
        let first = try Curve.generateKeyPair()
        let second = try Curve.generateKeyPair()
        for key in [first.publicKey, first.secretKey, second.publicKey] {
            #expect(key.count == 40)
            #expect(Curve.isValidKey(key))
            #expect(try Curve.z85Decode(key).count == 32)
        }
        #expect(first.publicKey != second.publicKey)
        #expect(try Curve.publicKey(forSecretKey: first.secretKey) == first.publicKey)
    }

    @Test func z85MatchesTheRFCVector() throws {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(try Curve.z85Encode(bytes) == "HelloWorld")
        #expect(try Curve.z85Decode("HelloWorld") == bytes)
    }

    @Test func z85RejectsBadInput() {
        #expect(throws: WireError.self) { try Curve.z85Encode([1, 2, 3]) }
        for text in ["", "Hell", "Hello Worl", "HelloWorl\u{7F}", "%%%%%"] {
            let error = #expect(throws: WireError.self) { try Curve.z85Decode(text) }
            #expect(error?.code == .malformed, "\(text)")
        }
        #expect(!Curve.isValidKey("HelloWorld"))
        #expect(!Curve.isValidKey(String(repeating: "#", count: 40)))
    }

    @Test func keyFilesRoundTripWithModes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pair = try Curve.generateKeyPair()
        let secretPath = folder + "/worker.key_secret"
        let publicPath = folder + "/worker.key"
        try Curve.writeKeyFile(pair.secretKey, to: secretPath, isSecret: true)
        try Curve.writeKeyFile(pair.publicKey, to: publicPath, isSecret: false)
        #expect(try String(contentsOfFile: secretPath, encoding: .utf8) == pair.secretKey + "\n")
        #expect(try Curve.readKeyFile(at: secretPath) == pair.secretKey)
        #expect(try Curve.readKeyFile(at: publicPath) == pair.publicKey)
        let secretMode = try FileManager.default.attributesOfItem(atPath: secretPath)[.posixPermissions] as? Int
        let publicMode = try FileManager.default.attributesOfItem(atPath: publicPath)[.posixPermissions] as? Int
        #expect(secretMode == 0o600)
        #expect(publicMode == 0o644)

        try "  \(pair.publicKey)\r\n\n".write(toFile: publicPath, atomically: true, encoding: .utf8)
        #expect(try Curve.readKeyFile(at: publicPath) == pair.publicKey)
    }

    @Test func badKeyFilesAreErrorsNamingThePath() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = folder + "/missing.key"
        let missingError = #expect(throws: WireError.self) { try Curve.readKeyFile(at: missing) }
        #expect(missingError?.code == .io(ENOENT))
        #expect(missingError?.message == "\(missing): no such file or directory")

        let garbage = folder + "/garbage.key"
        try "not a key\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let garbageError = #expect(throws: WireError.self) { try Curve.readKeyFile(at: garbage) }
        #expect(garbageError?.code == .invalidKey)
        #expect(garbageError?.message.hasPrefix(garbage + ": ") == true)

        let huge = folder + "/huge.key"
        try String(repeating: "a", count: 10_000).write(toFile: huge, atomically: true, encoding: .utf8)
        #expect(throws: WireError.self) { try Curve.readKeyFile(at: huge) }

        let notAKey = #expect(throws: WireError.self) { try Curve.writeKeyFile("short", to: folder + "/x", isSecret: false) }
        #expect(notAKey?.code == .invalidKey)
    }

    @Test func authorizedKeysFolderSkipsAndReportsBadFiles() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try Curve.generateKeyPair().publicKey
        let second = try Curve.generateKeyPair().publicKey
        try Curve.writeKeyFile(first, to: folder + "/worker-a.key", isSecret: false)
        try Curve.writeKeyFile(second, to: folder + "/worker-b.key", isSecret: false)
        try "oops\n".write(toFile: folder + "/worker-c.key", atomically: true, encoding: .utf8)
        try "ignored\n".write(toFile: folder + "/.hidden", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "/old", withIntermediateDirectories: false)

        let loaded = try AuthorizedKeys.load(directory: folder)
        #expect(loaded.keys == [first, second])
        #expect(loaded.problems.count == 1)
        #expect(loaded.problems.first?.hasPrefix(folder + "/worker-c.key: ") == true)

        let error = #expect(throws: WireError.self) { try AuthorizedKeys.load(directory: folder + "/absent") }
        #expect(error?.code == .io(ENOENT))
    }

    @Test func socketWithBadCurveKeyIsAnError() throws {
        let context = try WireContext()
        let error = #expect(throws: WireError.self) {
            _ = try WireSocket(context, kind: .router, options: .init(security: .curveServer(secretKey: "nope")))
        }
        #expect(error?.code == .invalidKey)
        #expect(error?.message.contains("server secret key") == true)
    }
}
