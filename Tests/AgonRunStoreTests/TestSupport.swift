// Helpers of the run store tests: a temporary folder per test, and events made to order.

import AgonRunStore
import Foundation

/// A fresh folder under the system's temporary directory, removed when released.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("agon-runstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the folder.
    func path(_ name: String = "run.db") -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A scalars event of `worker` with `count` values at step `seq`.
func scalarEvent(_ worker: String, _ seq: Int64, count: Int = 3, base: Double = 0) -> RunEvent {
    let tags = ["d_loss", "g_loss", "acc_real", "acc_fake", "d_x", "d_g_z", "grad_norm_d", "grad_norm_g"]
    let values = (0..<count).map { ScalarValue(tag: tags[$0 % tags.count], value: base + Double(seq) + Double($0) / 10) }
    return RunEvent(worker: worker, seq: seq, step: seq, wallTime: 1_700_000_000 + Double(seq), payload: .scalars(values))
}

/// Deterministic bytes (SplitMix64), for a corrupt file that is the same on every run.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
}
