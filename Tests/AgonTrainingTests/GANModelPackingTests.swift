// The flat vectors workers and the coordinator exchange: every tensor once, in one order,
// trainable parameters (or their gradients) then state, and back again.
import AgonNN
import AgonTensor
import AgonTraining
import Testing

@Suite struct GANModelPackingTests {
    let engine = Engine()

    @Test("parameters survive a pack and an unpack into another replica", arguments: GANModel.Kind.allCases)
    func parametersRoundTrip(kind: GANModel.Kind) {
        let a = GANModel(kind, engine: engine, seed: 1, widthDivisor: 8, dropout: 0)
        let b = GANModel(kind, engine: engine, seed: 2, widthDivisor: 8, dropout: 0)
        for (i, entry) in a.namedParameters.enumerated() where !entry.parameter.isTrainable {
            entry.parameter.value.pointer.update(repeating: Float(i), count: entry.parameter.value.count)
        }
        let all: [GANNetwork] = [.generator, .discriminator]
        var flat = [Float](repeating: .nan, count: a.flatCount(all))
        #expect(flat.count == a.generator.trainableCount + a.generator.stateCount + a.discriminator.trainableCount + a.discriminator.stateCount)
        flat.withUnsafeMutableBufferPointer { a.packParameters(all, into: $0.baseAddress!) }
        #expect(!flat.contains { $0.isNaN }, "every slot is written")
        flat.withUnsafeBufferPointer { b.unpackParameters(all, from: $0.baseAddress!) }
        for (x, y) in zip(a.namedParameters, b.namedParameters) {
            #expect(x.name == y.name)
            #expect(x.parameter.value.scalars == y.parameter.value.scalars, "\(x.name) differs after the round trip")
        }
    }

    @Test("one network's vector holds its gradients and state only")
    func gradientsOfOneNetwork() {
        let model = GANModel(.dcgan, engine: engine, seed: 1, widthDivisor: 8, dropout: 0)
        for (i, p) in model.discriminator.trainableParameters.enumerated() {
            p.gradient!.pointer.update(repeating: Float(i + 1), count: p.value.count)
        }
        var flat = [Float](repeating: 0, count: model.flatCount([.discriminator]))
        #expect(flat.count == model.discriminator.trainableCount)   // D has no state
        flat.withUnsafeMutableBufferPointer { model.packGradients([.discriminator], into: $0.baseAddress!) }
        let first = model.discriminator.trainableParameters[0].value.count
        #expect(flat[0] == 1 && flat[first - 1] == 1 && flat[first] == 2)
        model.discriminator.zeroGradients()
        flat.withUnsafeBufferPointer { model.unpackGradients([.discriminator], from: $0.baseAddress!) }
        #expect(model.discriminator.trainableParameters[1].gradient![0] == 2)
    }

    @Test("phase bits name the networks", arguments: [UInt8(1), 2, 3])
    func phases(phase: UInt8) {
        #expect(GANNetwork.phase(GANNetwork.networks(phase: phase)) == phase)
    }
}
