// The flags of sample-quality measurements during a run, shared by `agon run` (which hands
// them to its coordinator) and `agon coordinator` (which measures).
import ArgumentParser

/// How often, on how many samples and with which classifier the coordinator measures quality.
struct QualityOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Measure sample quality (FID, KID, precision/recall, …) every N steps and after the last; 0 turns it off.")
    var qualityEvery: Int = 1000

    @Option(parsing: .unconditional, help: "Generated and real test images each quality measurement compares (10 to 10,000).")
    var qualitySamples: Int = 1000

    @Option(help: "The feature extractor of quality measurements (default: models/fashion-mnist-classifier.safetensors under $AGON_HOME, above the agon executable, or here); if it is missing, quality is off.")
    var classifier: String?

    func validate() throws {
        guard qualityEvery >= 0 else { throw ValidationError("--quality-every must be 0 (off) or a step count, got \(qualityEvery)") }
        guard (10...10_000).contains(qualitySamples) else {
            throw ValidationError("--quality-samples must be from 10 to 10000, got \(qualitySamples)")
        }
    }

    /// The same options as command-line arguments, to hand to a child process.
    var arguments: [String] {
        ["--quality-every", String(qualityEvery), "--quality-samples", String(qualitySamples)] + (classifier.map { ["--classifier", $0] } ?? [])
    }
}
