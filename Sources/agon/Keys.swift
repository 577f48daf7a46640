// `agon keys generate`: a CURVE key pair for a coordinator or a worker.
import AgonWire
import ArgumentParser
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage CURVE keys.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a CURVE key pair: DIR/secret.key (keep it private) and DIR/public.key (hand it out).")

        @Option(help: "Folder to write the key pair into.")
        var out: String

        func run() throws {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let pair = try Curve.generateKeyPair()
            try Curve.writeKeyFile(pair.secretKey, to: out + "/secret.key", isSecret: true)
            try Curve.writeKeyFile(pair.publicKey, to: out + "/public.key", isSecret: false)
            print("wrote \(out)/secret.key and \(out)/public.key")
        }
    }
}
