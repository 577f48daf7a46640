// `agon bench`: performance figures measured the same way every time (warm-up, several timed
// runs, the median), one JSON object per line with --json.
import AgonTensor
import AgonTraining
import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Agon's performance.",
        subcommands: [BenchTrain.self, BenchAllreduce.self, BenchIngest.self, BenchRender.self])
}

/// Training throughput of one replica on one thread.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Steps/s and samples/s of one replica on one thread, after warm-up; median of several runs.",
        discussion: """
        Without --model, measures mlp at batch 32, 64 and 256 and dcgan at batch 64, each in a \
        child process of its own so that each peak memory figure is that model's alone.
        """)

    @Option(help: "Measure only this model (mlp, seed-mlp, dcgan).")
    var model: GANModel.Kind?

    @Option(help: "Batch size (with --model).")
    var batch: Int = 64

    @Option(help: "Timed runs; the median is reported.")
    var runs: Int = 5

    @Option(help: "Target length of one timed run, seconds.")
    var seconds: Double = 1.5

    @Option(help: "Data folder; random images are used when it cannot be read.")
    var data: String = ImageDataset.defaultDirectory

    @Flag(help: "One JSON object per line.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        guard let model else {
            for (kind, size) in [(GANModel.Kind.mlp, 32), (.mlp, 64), (.mlp, 256), (.dcgan, 64)] {
                try runChild(kind, size)
            }
            return
        }
        let result = try measure(model, batch: batch)
        if json {
            print(result.json)
        } else {
            print(String(format: "%@ batch %d: %.1f steps/s, %.0f samples/s, peak RSS %.0f MiB (median of %d runs, 1 thread)",
                         model.rawValue, batch, result.stepsPerSecond, result.stepsPerSecond * Double(batch), result.peakMiB, runs))
        }
    }

    private func runChild(_ kind: GANModel.Kind, _ size: Int) throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["bench", "train", "--model", kind.rawValue, "--batch", String(size), "--runs", String(runs),
                           "--seconds", String(seconds), "--data", data] + (json ? ["--json"] : [])
        try child.run()
        child.waitUntilExit()
        guard child.terminationStatus == 0 else {
            throw RuntimeError("bench of \(kind.rawValue) at batch \(size) failed with status \(child.terminationStatus)")
        }
    }

    struct Result {
        var model: String, batch: Int, stepsPerSecond: Double, peakMiB: Double
        var json: String {
            String(format: #"{"model":"%@","batch":%d,"threads":1,"steps_per_s":%.2f,"samples_per_s":%.1f,"peak_rss_mb":%.1f}"#,
                   model, batch, stepsPerSecond, stepsPerSecond * Double(batch), peakMiB)
        }
    }

    private func measure(_ kind: GANModel.Kind, batch: Int) throws -> Result {
        let dataset = (try? ImageDataset.load(directory: data, split: .train)) ?? Self.randomImages(count: max(4 * batch, 1024))
        var configuration = TrainingConfiguration()
        configuration.model = kind
        configuration.batch = batch
        let trainer = Trainer(configuration: configuration, engine: Engine(threads: 1), dataset: dataset)
        var step = 0
        func timed(_ count: Int) throws -> Double {
            let start = ContinuousClock.now
            for _ in 0..<count { _ = try trainer.trainStep(step); step += 1 }
            return (ContinuousClock.now - start).seconds
        }
        // Warm-up: primitives are created on first use; then estimate a run's step count.
        _ = try timed(3)
        var probe = 3, probeTime = try timed(probe)
        while probeTime < 0.2 { probe *= 4; probeTime = try timed(probe) }
        let perRun = max(3, Int(seconds * Double(probe) / probeTime))
        var rates: [Double] = []
        for _ in 0..<runs { rates.append(Double(perRun) / (try timed(perRun))) }
        rates.sort()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Result(model: kind.rawValue, batch: batch, stepsPerSecond: rates[rates.count / 2],
                      peakMiB: Double(usage.ru_maxrss) / 1024)
    }

    static func randomImages(count: Int) -> ImageDataset {
        var generator = SystemRandomNumberGenerator()
        let pixels = (0..<(count * 784)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return ImageDataset(images: pixels, labels: (0..<count).map { UInt8($0 % 10) }, height: 28, width: 28)
    }
}
