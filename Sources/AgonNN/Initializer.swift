// Keras's default initializers: Glorot-uniform kernels, zero biases, seeded and reproducible.
import AgonTensor

/// Initial values as Keras gives them by default.
public enum Initializer {
    /// Glorot (Xavier) uniform: U(−l, l) with l = √(6 / (fan_in + fan_out)), where for a kernel
    /// of shape [..., a, b] fan_in = a · r and fan_out = b · r, r the product of the leading
    /// (receptive field) dimensions (Glorot & Bengio 2010; Keras `compute_fans`).
    public static func glorotUniform(_ tensor: Tensor, random: CounterRandom, counter: UInt32) {
        let shape = tensor.shape
        let receptive = shape.dropLast(2).reduce(1, *)
        let fanIn = (shape.count >= 2 ? shape[shape.count - 2] : shape[0]) * receptive
        let fanOut = (shape.count >= 2 ? shape[shape.count - 1] : shape[0]) * receptive
        let limit = (6 / Float(fanIn + fanOut)).squareRoot()
        random.fillUniform(tensor.pointer, count: tensor.count, low: -limit, high: limit, stream: .initializer, counter, 0)
    }

    /// Initialises every kernel of `network` with Glorot uniform; biases, β and moving means
    /// stay 0, γ and moving variances 1, as constructed.
    public static func initialize(_ network: Sequential, seed: UInt64) {
        // Mix the network's name into the seed so G's and D's draws differ (FNV-1a).
        let salt = network.name.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        let random = CounterRandom(seed: seed ^ salt)
        for (i, entry) in network.namedParameters.enumerated() where entry.parameter.name == "kernel" {
            glorotUniform(entry.parameter.value, random: random, counter: UInt32(i))
        }
    }
}
