// A sample log folder of four runs and the EXPECT.json that scripts/check_tensorboard.py checks
// it against with the real tensorboard package. Set AGON_TB_OUT to keep both in that folder.

import Foundation
import Testing
import AgonAggregator

/// What one run of the sample holds: scalar series and image steps, by tag.
private struct SampleRun {
    var scalars: [String: [(step: Int64, value: Float)]] = [:]
    var images: [String: [Int64]] = [:]
}

/// A float32 as JSON that Python's `json` reads back to the same float32 (NaN and infinities in
/// Python's spelling, finite values in Swift's shortest round-trip form).
private func json(_ value: Float) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
    return "\(value)"
}

/// `{"runs": {run: {"scalars": {tag: [[step, value], ...]}, "images": {tag: [step, ...]}}}}`.
private func expectJSON(_ runs: [String: SampleRun]) -> String {
    func quoted(_ text: String) -> String { "\"\(text)\"" }
    let entries = runs.keys.sorted().map { name in
        let run = runs[name]!
        let scalars = run.scalars.keys.sorted().map { tag in
            quoted(tag) + ": [" + run.scalars[tag]!.map { "[\($0.step), \(json($0.value))]" }.joined(separator: ", ") + "]"
        }
        let images = run.images.keys.sorted().map { tag in
            quoted(tag) + ": [" + run.images[tag]!.map(String.init).joined(separator: ", ") + "]"
        }
        return "    \(quoted(name)): {\"scalars\": {\(scalars.joined(separator: ", "))}, \"images\": {\(images.joined(separator: ", "))}}"
    }
    return "{\"runs\": {\n" + entries.joined(separator: ",\n") + "\n}}\n"
}

extension EventFileWriterTests {
    /// Writes the sample runs under `logs/` of AGON_TB_OUT (or a temporary folder), one writer
    /// per run folder, and `expect.json` beside it; then reads every file back here.
    @Test func sampleLogFolderForTheTensorBoardCheck() throws {
        let output = try ProcessInfo.processInfo.environment["AGON_TB_OUT"] ?? temporaryLogDirectory()
        let logs = output + "/logs"
        try #require(!FileManager.default.fileExists(atPath: logs), "\(logs) exists; remove it, or point AGON_TB_OUT at a new folder")
        defer { if ProcessInfo.processInfo.environment["AGON_TB_OUT"] == nil { try? FileManager.default.removeItem(atPath: output) } }

        let start = 1_700_000_000.0
        let special: [Float] = [0, -0.0, 0.1, 1e-38, .leastNonzeroMagnitude, -2.5e7, .greatestFiniteMagnitude, .infinity, -.infinity, .nan]
        var runs: [String: SampleRun] = [:]

        // Past TensorBoard's default 1000 scalars and 4 images a tag, to check size_guidance 0.
        let trainWriter = try EventFileWriter(directory: logs + "/train", wallTime: start, host: "agon-test", pid: 101)
        for step in Int64(0)..<2500 {
            let generator = step < Int64(special.count) ? special[Int(step)] : Float(1.0 / Double(step + 1)).squareRoot()
            let discriminator = Float(sin(Double(step) / 50)) * 0.75 + 0.7
            try trainWriter.addScalars(step: step, wallTime: start + Double(step) * 0.01, [
                (tag: "loss/generator", value: generator), (tag: "loss/discriminator", value: discriminator),
            ])
            runs["train", default: .init()].scalars["loss/generator", default: []].append((step, generator))
            runs["train", default: .init()].scalars["loss/discriminator", default: []].append((step, discriminator))
            if step % 200 == 0 {
                try trainWriter.addImage(step: step, wallTime: start + Double(step) * 0.01, tag: "samples/grid",
                                         width: 2, height: 2, colorspace: 3, png: sampleTwoByTwoPNG)
                runs["train", default: .init()].images["samples/grid", default: []].append(step)
            }
        }
        trainWriter.close()
        let train = runs["train"]!

        // Two workers, each in its own folder (one folder would make TensorBoard drop one).
        for worker in 0..<2 {
            let name = "workers/\(worker)"
            let writer = try EventFileWriter(directory: logs + "/" + name, wallTime: start, host: "agon-test", pid: Int32(200 + worker))
            for step in stride(from: Int64(0), to: 100, by: 10) {
                let value = Float(step) / 100 + Float(worker)
                try writer.addScalars(step: step, wallTime: start + Double(step), [(tag: "seconds/step", value: value)])
                runs[name, default: .init()].scalars["seconds/step", default: []].append((step, value))
            }
            writer.close()
        }

        let eval = try EventFileWriter(directory: logs + "/eval", wallTime: start + 5, host: "agon-test", pid: 300, index: 1)
        for (index, step) in [Int64(0), 500, 1000].enumerated() {
            try eval.addScalars(step: step, wallTime: start + Double(step), [(tag: "fid", value: 300 / Float(index + 1))])
            try eval.addImage(step: step, wallTime: start + Double(step), tag: "grid", width: 2, height: 2, colorspace: 3, png: sampleTwoByTwoPNG)
            runs["eval", default: .init()].scalars["fid", default: []].append((step, 300 / Float(index + 1)))
            runs["eval", default: .init()].images["grid", default: []].append(step)
        }
        eval.close()

        try expectJSON(runs).write(toFile: output + "/expect.json", atomically: true, encoding: .utf8)

        // The Swift reader agrees with what was meant, record for record.
        let trainFiles = try FileManager.default.contentsOfDirectory(atPath: logs + "/train")
        #expect(trainFiles.count == 1)
        let events = try readEvents(atPath: logs + "/train/" + trainFiles[0])
        let generator = events.compactMap { event in
            event.values?.first { $0.tag == "loss/generator" }.flatMap { value in value.simpleValueBits.map { (event.step, $0) } }
        }
        #expect(generator.map(\.0) == train.scalars["loss/generator"]!.map(\.step))
        #expect(generator.map(\.1) == train.scalars["loss/generator"]!.map(\.value.bitPattern))
        #expect(events.filter { $0.values?.first?.image != nil }.map(\.step) == train.images["samples/grid"]!)
    }
}
