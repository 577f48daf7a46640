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

    /// Writes, for each network, every trainable parameter's gradient then every state tensor's
    /// value: the worker's contribution to an average.
    public func packGradients(_ networks: [GANNetwork], into out: UnsafeMutablePointer<Float>) {
        var offset = 0
        for which in networks {
            let entries = network(which).namedParameters.map(\.parameter)
            for p in entries where p.isTrainable {
                (out + offset).update(from: p.gradient!.pointer, count: p.value.count)
                offset += p.value.count
            }
            for p in entries where !p.isTrainable {
                (out + offset).update(from: p.value.pointer, count: p.value.count)
                offset += p.value.count
            }
        }
    }

    /// Writes, for each network, every trainable parameter's value then every state tensor's.
    public func packParameters(_ networks: [GANNetwork], into out: UnsafeMutablePointer<Float>) {
        var offset = 0
        for which in networks {
            let entries = network(which).namedParameters.map(\.parameter)
            for p in entries.filter(\.isTrainable) + entries.filter({ !$0.isTrainable }) {
                (out + offset).update(from: p.value.pointer, count: p.value.count)
                offset += p.value.count
            }
        }
    }

    /// Reads what `packParameters` wrote.
    public func unpackParameters(_ networks: [GANNetwork], from values: UnsafePointer<Float>) {
        var offset = 0
        for which in networks {
            let entries = network(which).namedParameters.map(\.parameter)
            for p in entries.filter(\.isTrainable) + entries.filter({ !$0.isTrainable }) {
                p.value.copy(from: values + offset)
                offset += p.value.count
            }
        }
    }

    /// Sets gradients and state from an averaged vector in `packGradients`'s layout.
    public func unpackGradients(_ networks: [GANNetwork], from values: UnsafePointer<Float>) {
        var offset = 0
        for which in networks {
            let entries = network(which).namedParameters.map(\.parameter)
            for p in entries where p.isTrainable {
                p.gradient!.copy(from: values + offset)
                offset += p.value.count
            }
            for p in entries where !p.isTrainable {
                p.value.copy(from: values + offset)
                offset += p.value.count
            }
        }
    }
}

extension GANNetwork {
    /// The networks of a phase bit set: bit 0 the generator, bit 1 the discriminator.
    public static func networks(phase: UInt8) -> [GANNetwork] {
        (phase & 1 != 0 ? [.generator] : []) + (phase & 2 != 0 ? [.discriminator] : [])
    }

    /// The phase bit set of `networks`.
    public static func phase(_ networks: [GANNetwork]) -> UInt8 {
        networks.reduce(0) { $0 | ($1 == .generator ? 1 : 2) }
    }
}
