// `agon keys generate`: a CURVE key pair for a coordinator, an aggregator or a worker, or with
// --cluster one folder that serves every process of a run (`--keys DIR` on each).
import AgonWire
import ArgumentParser
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage CURVE keys.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a CURVE key pair: DIR/secret.key (keep it private) and DIR/public.key (hand it out).",
            discussion: "Never overwrites a key: a file already there is an error. With --cluster, DIR/coordinator.key (the same public key) too, so that DIR serves the coordinator, the aggregator and every worker of a run as --keys DIR.")

        @Option(help: "Folder to write the key pair into.")
        var out: String

        @Flag(help: "Also write DIR/coordinator.key: one key folder for every process of the run.")
        var cluster = false

        func run() throws {
            let folder = out.hasSuffix("/") && out.count > 1 ? String(out.dropLast()) : out
            let names = ["secret.key", "public.key"] + (cluster ? ["coordinator.key"] : [])
            for name in names where FileManager.default.fileExists(atPath: folder + "/" + name) {
                throw RuntimeError("\(folder)/\(name): already exists; agon keys generate never overwrites a key (remove it first, or choose another --out)")
            }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw RuntimeError("\(folder): cannot make the folder: \(oneLineDescription(of: error))")
            }
            let pair = try Curve.generateKeyPair()
            try Curve.writeKeyFile(pair.secretKey, to: folder + "/secret.key", isSecret: true)
            try Curve.writeKeyFile(pair.publicKey, to: folder + "/public.key", isSecret: false)
            if cluster { try Curve.writeKeyFile(pair.publicKey, to: folder + "/coordinator.key", isSecret: false) }
            print("wrote " + names.map { "\(folder)/\($0)" }.joined(separator: ", "))
        }
    }
}
