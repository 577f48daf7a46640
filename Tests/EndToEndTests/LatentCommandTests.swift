// `agon latent` as a user runs it: a run from `agon train`, the committed classifier, and the
// views it leaves under RUN/plots, per checkpoint under RUN/plots/latent/step-NNNNNNNN/.
import Foundation
import Testing

@Suite("agon latent, end to end", .enabled(if: haveData, "needs the dataset-fashion-mnist Debian package"))
struct LatentCommandTests {
    static let classifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/fashion-mnist-classifier.safetensors").path
    static let views = ["pca.png", "pca.svg", "tsne.png", "tsne.svg", "interpolation.png", "nearest.png"]

    /// Fails unless `path` is a PNG (signature and a non-empty IHDR) or an SVG document.
    private func expectPicture(_ path: String) throws {
        let bytes = try #require(FileManager.default.contents(atPath: path), "\(path) is missing")
        if path.hasSuffix(".png") {
            #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(path) is not a PNG")
            #expect(String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR", "\(path) has no IHDR")
            let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width >= 300 && height >= 200, "\(path) is only \(width)×\(height)")
        } else {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix("<?xml") && text.contains("<svg") && text.hasSuffix("</svg>\n"), "\(path) is not a whole SVG document")
        }
    }

    @Test("draws every view of the newest checkpoint, keeps its history, and --all draws the older ones")
    func drawsViews() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try AgonProcess.run(["train", "--steps", "20", "--batch", "32", "--checkpoint-every", "10", "--run-dir", dir])
        #expect(train.status == 0, "agon train failed: \(train.stderr)")
        let options = ["--classifier", Self.classifier, "--samples", "150", "--references", "600"]

        let latest = try AgonProcess.run(["latent", dir] + options, timeout: 300)
        #expect(latest.status == 0, "agon latent failed: \(latest.stderr)")
        for name in Self.views {
            try expectPicture(dir + "/plots/" + name)
            try expectPicture(dir + "/plots/latent/step-00000020/" + name)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/plots/latent/step-00000010"))

        let all = try AgonProcess.run(["latent", dir, "--all"] + options, timeout: 300)
        #expect(all.status == 0, "agon latent --all failed: \(all.stderr)")
        #expect(all.stderr.contains("step 10 ") && !all.stderr.contains("step 20 "), "--all should draw only step 10: \(all.stderr)")
        for name in Self.views { try expectPicture(dir + "/plots/latent/step-00000010/" + name) }
        // The top level still shows the newest checkpoint.
        for name in Self.views {
            #expect(FileManager.default.contents(atPath: dir + "/plots/" + name) == FileManager.default.contents(atPath: dir + "/plots/latent/step-00000020/" + name))
        }
    }

    @Test("a run folder without checkpoints gets one error line and a non-zero exit")
    func rejectsARunWithoutCheckpoints() throws {
        let dir = try AgonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try AgonProcess.run(["latent", dir, "--classifier", Self.classifier])
        #expect(result.status != 0)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1, "\(result.stderr)")
        #expect(errors.first?.contains("no checkpoints") == true, "\(result.stderr)")
    }
}
