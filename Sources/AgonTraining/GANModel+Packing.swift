// A GAN's tensors as one flat Float32 vector per set of networks: what travels between workers
// and the coordinator (gradients one way, parameters the other).
import AgonNN
import AgonTensor

extension GANModel {
    /// The network of a `GANNetwork` case.
    public func network(_ which: GANNetwork) -> Sequential {
        which == .generator ? generator : discriminator
    }

    /// Floats in the flat vector of `networks`: for each, its trainable parameters then its
    /// state (BatchNorm's moving statistics), in Keras order.
    public func flatCount(_ networks: [GANNetwork]) -> Int {
        networks.reduce(0) { $0 + network($1).trainableCount + network($1).stateCount }
    }

    /// Where `network`'s values begin in the layout of both networks (the shared-memory
    /// lane's): G's at 0, D's after G's.
    public func offsetInBoth(_ network: GANNetwork) -> Int {
        network == .generator ? 0 : flatCount([.generator])
    }

    /// The flat layout of `networks`: for each, its trainable parameters then its state, with
    /// each tensor's offset in the vector.
    private func layout(_ networks: [GANNetwork]) -> [(parameter: Parameter, offset: Int)] {
        var offset = 0
        var entries: [(Parameter, Int)] = []
        for which in networks {
            let all = network(which).namedParameters.map(\.parameter)
            for p in all.filter(\.isTrainable) + all.filter({ !$0.isTrainable }) {
                entries.append((p, offset))
                offset += p.value.count
            }
        }
        return entries
    }

    /// Writes each trainable parameter's gradient and each state tensor's value: a worker's
    /// contribution to an average.
    public func packGradients(_ networks: [GANNetwork], into out: UnsafeMutablePointer<Float>) {
        for (p, offset) in layout(networks) {
            (out + offset).update(from: (p.gradient ?? p.value).pointer, count: p.value.count)
        }
    }

    /// Writes every tensor's value.
    public func packParameters(_ networks: [GANNetwork], into out: UnsafeMutablePointer<Float>) {
        for (p, offset) in layout(networks) { (out + offset).update(from: p.value.pointer, count: p.value.count) }
    }

    /// Reads what `packParameters` wrote.
    public func unpackParameters(_ networks: [GANNetwork], from values: UnsafePointer<Float>) {
        for (p, offset) in layout(networks) { p.value.copy(from: values + offset) }
    }

    /// Sets each gradient, and each state tensor's value, to the mean of `inputs`: vectors in
    /// `packGradients`'s layout of `networks`, summed in the order given, then scaled. The
    /// coordinator's average, written where the optimizer reads it with no vector between.
    public func averageGradients(_ networks: [GANNetwork], of inputs: [UnsafePointer<Float>]) {
        for (p, offset) in layout(networks) {
            Elementwise.mean(of: inputs.map { $0 + offset }, into: (p.gradient ?? p.value).pointer, count: p.value.count)
        }
    }

    /// Sets gradients, and the state's values, from a vector in `packGradients`'s layout.
    public func unpackGradients(_ networks: [GANNetwork], from values: UnsafePointer<Float>) {
        for (p, offset) in layout(networks) { (p.gradient ?? p.value).copy(from: values + offset) }
    }
}

extension GANNetwork {
    /// The networks of a phase bit set: bit 0 the generator, bit 1 the discriminator.
    public static func networks(phase: UInt8) -> [GANNetwork] {
        (phase & 1 != 0 ? [.generator] : []) + (phase & 2 != 0 ? [.discriminator] : [])
    }

    /// Where the network sits in a buffer that holds both (the shared-memory lane's): the
    /// generator first, as part 0, then the discriminator, as part 1.
    public var part: Int { self == .generator ? 0 : 1 }

    /// The phase bit set of `networks`.
    public static func phase(_ networks: [GANNetwork]) -> UInt8 {
        networks.reduce(0) { $0 | ($1 == .generator ? 1 : 2) }
    }
}
