// Agon's numerical core against TensorFlow: every output, loss, accuracy, gradient and
// parameter update of every step stored in the reference files (../shared/fixtures/README.md).
import AgonNN
import AgonTensor
import AgonTraining
import Foundation
import Testing

/// The folder of reference files: `AGON_FIXTURES`, or `../shared/fixtures` beside the package.
let fixturesDirectory: String = {
    if let dir = ProcessInfo.processInfo.environment["AGON_FIXTURES"], !dir.isEmpty { return dir }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
}()

let fixtureFiles: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: fixturesDirectory)) ?? []
    return names.filter { $0.hasSuffix(".safetensors") }.sorted().map { fixturesDirectory + "/" + $0 }
}()

/// Relative L2 distance check: ‖a − b‖ ≤ rel·‖b‖ + abs. Returns a description when it fails.
func mismatch(_ a: [Float], _ b: [Float], rel: Double, abs: Double) -> String? {
    guard a.count == b.count else { return "sizes differ: \(a.count) vs \(b.count)" }
    var diff = 0.0, norm = 0.0
    for i in a.indices {
        diff += Double(a[i] - b[i]) * Double(a[i] - b[i])
        norm += Double(b[i]) * Double(b[i])
    }
    diff = diff.squareRoot(); norm = norm.squareRoot()
    if diff.isFinite, diff <= rel * norm + abs { return nil }
    return "‖a−b‖ = \(diff), ‖b‖ = \(norm), allowed \(rel * norm + abs)"
}

/// What the reference file says about its run, read from its metadata and tensor shapes.
struct FixtureRun {
    let file: SafeTensors
    let model: GANModel
    let steps: Int
    let batch: Int
    let adam: (lr: Float, b1: Float, b2: Float, eps: Float)

    init(path: String, engine: Engine) throws {
        file = try SafeTensors.read(path: path)
        let meta = file.metadata
        steps = try #require(Int(meta["steps"] ?? ""), "\(path): metadata has no step count")
        batch = try #require(Int(meta["batch"] ?? ""), "\(path): metadata has no batch size")
        let seed = try #require(UInt64(meta["seed"] ?? ""), "\(path): metadata has no seed")
        #expect(meta["update"] == "simultaneous", "\(path): only simultaneous-update fixtures are known")
        // "adam lr=1e-4 b1=0.9 b2=0.999 eps=1e-7 (keras)"
        var settings: [String: Float] = [:]
        for word in (meta["optimizer"] ?? "").split(separator: " ") {
            let pair = word.split(separator: "=")
            if pair.count == 2, let v = Float(pair[1]) { settings[String(pair[0])] = v }
        }
        #expect((meta["optimizer"] ?? "").hasPrefix("adam"), "\(path): optimizer is not Adam")
        adam = (settings["lr"] ?? .nan, settings["b1"] ?? .nan, settings["b2"] ?? .nan, settings["eps"] ?? .nan)

        switch meta["model"] {
        case "mlp_gan":
            model = GANModel(.seedMLP, engine: engine, seed: seed)
        case "dcgan":
            // Widths and dropout from the tensors: g/0_dense/kernel is [latent, 49·w₁]; D's
            // second convolution sits at index 2 without Dropout layers, 3 with them.
            let dense = try #require(file["before/g/0_dense/kernel"], "\(path): no G dense kernel")
            let divisor = 256 / (dense.shape[1] / 49)
            let dropout: Float = file["before/d/2_conv2d/kernel"] != nil ? 0 : 0.3
            model = GANModel(.dcgan, engine: engine, seed: seed, widthDivisor: divisor, dropout: dropout)
        default:
            throw FixtureError(message: "\(path): unknown model \(meta["model"] ?? "none")")
        }
        let expectedLoss: GANLoss = meta["loss"] == "bce_logits" ? .binaryCrossEntropyFromLogits : .binaryCrossEntropy
        #expect(model.loss == expectedLoss, "\(path): loss \(meta["loss"] ?? "none") is not the model's")
    }
}

struct FixtureError: Error { let message: String }

@Suite("TensorFlow parity")
struct FixtureParityTests {
    @Test("fixture folder holds reference files", .enabled(if: !fixtureFiles.isEmpty || ProcessInfo.processInfo.environment["CI"] != nil))
    func fixturesPresent() {
        #expect(!fixtureFiles.isEmpty, "no .safetensors files in \(fixturesDirectory); set AGON_FIXTURES")
    }

    @Test("every step matches TensorFlow", arguments: fixtureFiles)
    func parity(path: String) throws {
        let engine = Engine()
        let run = try FixtureRun(path: path, engine: engine)
        let model = run.model
        let name = URL(fileURLWithPath: path).lastPathComponent

        // Every parameter of the model is in the file, and every parameter in the file is the model's.
        let fileNames = Set(run.file.tensors.map(\.name).filter { $0.hasPrefix("before/") }.map { String($0.dropFirst(7)) })
        let modelNames = Set(model.namedParameters.map(\.name))
        #expect(fileNames == modelNames, "\(name): parameter names differ: \(fileNames.symmetricDifference(modelNames).sorted())")
        for (pname, p) in model.namedParameters {
            let t = try #require(run.file["before/" + pname])
            #expect(t.shape == p.shape, "\(name): \(pname) shape \(p.shape) vs \(t.shape)")
            p.value.copy(from: t)
        }
        let update = LocalUpdate(
            generator: Adam(parameters: model.generator.trainableParameters, learningRate: run.adam.lr,
                            beta1: run.adam.b1, beta2: run.adam.b2, epsilon: run.adam.eps),
            discriminator: Adam(parameters: model.discriminator.trainableParameters, learningRate: run.adam.lr,
                                beta1: run.adam.b1, beta2: run.adam.b2, epsilon: run.adam.eps))
        let step = GANStep(model: model, update: update, mode: .simultaneous)
        var previousFixture: [String: [Float]] = Dictionary(uniqueKeysWithValues: model.namedParameters.map {
            ($0.name, run.file["before/" + $0.name]!.scalars)
        })

        for s in 1...run.steps {
            let z = try #require(run.file["step\(s)/input/z"]), x = try #require(run.file["step\(s)/input/x"])
            #expect(z.rows == run.batch && x.rows == run.batch)
            let before = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.value.scalars) })
            let metrics = try step(z: z.clone(), x: x.clone(), context: ForwardContext(training: true, step: s - 1))

            func expectValue(_ label: String, _ ours: [Float]) throws {
                let ref = try #require(run.file["step\(s)/\(label)"], "\(name): missing step\(s)/\(label)")
                if let why = mismatch(ours, ref.scalars, rel: 1e-4, abs: 1e-6) {
                    Issue.record("\(name) step \(s) \(label): \(why)")
                }
            }
            try expectValue("output/fake", step.lastFake!.scalars)
            try expectValue("output/d_real", step.lastRealOutput!.scalars)
            try expectValue("output/d_fake", step.lastFakeOutput!.scalars)
            let scalars: [(String, Float)] = [
                ("g_loss", metrics.generatorLoss), ("d_loss", metrics.discriminatorLoss),
                ("d_real_loss", metrics.discriminatorRealLoss), ("d_fake_loss", metrics.discriminatorFakeLoss),
                ("acc_real", metrics.accuracyReal), ("acc_fake", metrics.accuracyFake),
                ("d_x", metrics.meanRealScore), ("d_g_z", metrics.meanFakeScore),
            ]
            for (label, value) in scalars { try expectValue("scalar/" + label, [value]) }
            for (pname, p) in model.namedParameters {
                if let gradient = p.gradient {
                    try expectValue("grad/" + pname, gradient.scalars)
                }
                let after = try #require(run.file["step\(s)/after/" + pname], "\(name): missing step\(s)/after/\(pname)")
                let ours = p.value.scalars, ref = after.scalars
                let deltaOurs = zip(ours, before[pname]!).map { $0 - $1 }
                let deltaRef = zip(ref, previousFixture[pname]!).map { $0 - $1 }
                if let why = mismatch(deltaOurs, deltaRef, rel: 1e-3, abs: 1e-7) {
                    Issue.record("\(name) step \(s) update of \(pname): \(why)")
                }
                previousFixture[pname] = ref
            }
        }
    }
}
