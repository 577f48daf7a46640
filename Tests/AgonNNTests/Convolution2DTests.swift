// Conv2D and Conv2DTranspose: forward passes against naive NHWC loops written from TensorFlow's
// padding rules, and finite-difference gradient checks.
import AgonNN
import AgonTensor
import Testing

/// One axis of a TensorFlow convolution: output extent and padding before.
private func convolutionAxis(_ n: Int, _ k: Int, _ s: Int, _ padding: Padding) -> (out: Int, before: Int) {
    switch padding {
    case .same:
        let out = (n + s - 1) / s                      // ⌈n / s⌉
        return (out, max((out - 1) * s + k - n, 0) / 2)
    case .valid:
        return ((n - k) / s + 1, 0)
    }
}

/// One axis of a TensorFlow transposed convolution: output extent and padding before.
private func transposedAxis(_ n: Int, _ k: Int, _ s: Int, _ padding: Padding) -> (out: Int, before: Int) {
    switch padding {
    case .same:
        let out = n * s
        return (out, max((n - 1) * s + k - out, 0) / 2)
    case .valid:
        return ((n - 1) * s + max(k, s), 0)
    }
}

/// Direct NHWC convolution, kernel [kh, kw, in, out], in Double.
private func naiveConvolution(_ x: Tensor, kernel w: Tensor, bias: Tensor?, stride: (Int, Int),
                              padding: Padding) -> (shape: [Int], values: [Double]) {
    let (n, h, wd, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (kh, kw, oc) = (w.shape[0], w.shape[1], w.shape[3])
    let ay = convolutionAxis(h, kh, stride.0, padding), ax = convolutionAxis(wd, kw, stride.1, padding)
    var y = [Double](repeating: 0, count: n * ay.out * ax.out * oc)
    for b in 0..<n {
        for oy in 0..<ay.out {
            for ox in 0..<ax.out {
                for o in 0..<oc {
                    var sum = bias.map { Double($0[o]) } ?? 0
                    for ky in 0..<kh {
                        let iy = oy * stride.0 + ky - ay.before
                        guard iy >= 0 && iy < h else { continue }
                        for kx in 0..<kw {
                            let ix = ox * stride.1 + kx - ax.before
                            guard ix >= 0 && ix < wd else { continue }
                            for i in 0..<c {
                                sum += Double(x[((b * h + iy) * wd + ix) * c + i]) * Double(w[((ky * kw + kx) * c + i) * oc + o])
                            }
                        }
                    }
                    y[((b * ay.out + oy) * ax.out + ox) * oc + o] = sum
                }
            }
        }
    }
    return ([n, ay.out, ax.out, oc], y)
}

/// Transposed convolution as a scatter: each input pixel times kernel [kh, kw, out, in] lands at
/// output (ih·s + kh − pad_top, iw·s + kw − pad_left), in Double.
private func naiveTransposedConvolution(_ x: Tensor, kernel w: Tensor, bias: Tensor?, stride: (Int, Int),
                                        padding: Padding) -> (shape: [Int], values: [Double]) {
    let (n, h, wd, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (kh, kw, oc) = (w.shape[0], w.shape[1], w.shape[2])
    let ay = transposedAxis(h, kh, stride.0, padding), ax = transposedAxis(wd, kw, stride.1, padding)
    var y = [Double](repeating: 0, count: n * ay.out * ax.out * oc)
    for b in 0..<n {
        for oy in 0..<ay.out { for ox in 0..<ax.out { for o in 0..<oc {
            y[((b * ay.out + oy) * ax.out + ox) * oc + o] = bias.map { Double($0[o]) } ?? 0
        } } }
        for iy in 0..<h {
            for ix in 0..<wd {
                for ky in 0..<kh {
                    let oy = iy * stride.0 + ky - ay.before
                    guard oy >= 0 && oy < ay.out else { continue }
                    for kx in 0..<kw {
                        let ox = ix * stride.1 + kx - ax.before
                        guard ox >= 0 && ox < ax.out else { continue }
                        for o in 0..<oc {
                            for i in 0..<c {
                                y[((b * ay.out + oy) * ax.out + ox) * oc + o] +=
                                    Double(x[((b * h + iy) * wd + ix) * c + i]) * Double(w[((ky * kw + kx) * oc + o) * c + i])
                            }
                        }
                    }
                }
            }
        }
    }
    return ([n, ay.out, ax.out, oc], y)
}

/// Expects `y` to equal `expected` within Float32 accumulation error.
private func expectClose(_ y: Tensor, _ expected: (shape: [Int], values: [Double]), _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(y.shape == expected.shape, "\(label): shape \(y.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
    guard y.count == expected.values.count else { return }
    var worst = (error: 0.0, index: 0)
    for i in 0..<y.count {
        let error = abs(Double(y[i]) - expected.values[i])
        if error > worst.error { worst = (error, i) }
    }
    let at = coordinates(of: worst.index, in: y.shape)
    #expect(worst.error <= 1e-4, "\(label): y\(at) = \(y[worst.index]), expected \(expected.values[worst.index])",
            sourceLocation: sourceLocation)
}

@Suite struct Convolution2DTests {
    @Test(arguments: Padding.allCases, [1, 2])
    func convolutionForwardMatchesDirectLoop(padding: Padding, stride: Int) {
        let engine = Engine()
        for size in [6, 7] {
            for (kernel, useBias) in [((3, 3), true), ((4, 3), false)] {
                let layer = Convolution2D(engine, inputShape: [size, size + 1, 3], filters: 2, kernelSize: kernel,
                                          strides: (stride, stride), padding: padding, useBias: useBias)
                randomizeParameters(layer.parameters, seed: 101)
                let x = randomTensor([2, size, size + 1, 3], seed: 102)
                let y = layer.forward(x, context: .inference)
                let expected = naiveConvolution(x, kernel: layer.kernel.value, bias: layer.bias?.value,
                                                stride: (stride, stride), padding: padding)
                #expect(layer.outputShape(for: [size, size + 1, 3]) == Array(expected.shape.dropFirst()))
                expectClose(y, expected, "conv2d \(padding) stride \(stride) input \(size)×\(size + 1) kernel \(kernel)")
            }
        }
    }

    @Test(arguments: Padding.allCases, [1, 2])
    func transposedForwardMatchesScatter(padding: Padding, stride: Int) {
        let engine = Engine()
        for size in [3, 4] {
            for (kernel, useBias) in [((3, 3), true), ((4, 5), false)] {
                let layer = Convolution2D(engine, inputShape: [size, size + 1, 3], filters: 2, kernelSize: kernel,
                                          strides: (stride, stride), padding: padding, useBias: useBias, transposed: true)
                #expect(layer.kernel.shape == [kernel.0, kernel.1, 2, 3])
                randomizeParameters(layer.parameters, seed: 111)
                let x = randomTensor([2, size, size + 1, 3], seed: 112)
                let y = layer.forward(x, context: .inference)
                let expected = naiveTransposedConvolution(x, kernel: layer.kernel.value, bias: layer.bias?.value,
                                                          stride: (stride, stride), padding: padding)
                #expect(layer.outputShape(for: [size, size + 1, 3]) == Array(expected.shape.dropFirst()))
                expectClose(y, expected, "conv2dtranspose \(padding) stride \(stride) input \(size)×\(size + 1) kernel \(kernel)")
            }
        }
    }

    @Test func fusedActivationIsAppliedToTheConvolution() {
        let engine = Engine()
        let layer = Convolution2D(engine, inputShape: [5, 5, 2], filters: 3, kernelSize: (3, 3), strides: (2, 2),
                                  padding: .same, activation: .leakyReLU(slope: 0.3))
        randomizeParameters(layer.parameters, seed: 121)
        let x = randomTensor([2, 5, 5, 2], seed: 122)
        let y = layer.forward(x, context: .inference)
        var expected = naiveConvolution(x, kernel: layer.kernel.value, bias: layer.bias?.value, stride: (2, 2), padding: .same)
        expected.values = expected.values.map { $0 > 0 ? $0 : 0.3 * $0 }
        expectClose(y, expected, "conv2d with leaky ReLU")
    }

    /// Gradient-check cases: (transposed, padding, stride, activation, bias, input size).
    struct GradientCase: CustomTestStringConvertible, Sendable {
        var transposed: Bool, padding: Padding, stride: Int, activation: Activation, useBias: Bool, size: Int
        var testDescription: String {
            "\(transposed ? "conv2dtranspose" : "conv2d") \(padding) s\(stride) \(activation) bias \(useBias) \(size)×\(size)"
        }
    }

    static let gradientCases: [GradientCase] = [
        .init(transposed: false, padding: .same, stride: 2, activation: .linear, useBias: true, size: 7),
        .init(transposed: false, padding: .valid, stride: 1, activation: .linear, useBias: false, size: 6),
        .init(transposed: false, padding: .same, stride: 1, activation: .tanh, useBias: true, size: 6),
        .init(transposed: false, padding: .valid, stride: 2, activation: .leakyReLU(slope: 0.3), useBias: true, size: 7),
        .init(transposed: true, padding: .same, stride: 2, activation: .linear, useBias: true, size: 3),
        .init(transposed: true, padding: .valid, stride: 2, activation: .linear, useBias: false, size: 4),
        .init(transposed: true, padding: .same, stride: 1, activation: .tanh, useBias: false, size: 5),
        .init(transposed: true, padding: .same, stride: 2, activation: .relu, useBias: true, size: 4),
    ]

    @Test(arguments: gradientCases)
    func gradientsMatchFiniteDifferences(_ c: GradientCase) {
        let engine = Engine()
        let layer = Convolution2D(engine, inputShape: [c.size, c.size, 3], filters: 2, kernelSize: (3, 3),
                                  strides: (c.stride, c.stride), padding: c.padding, activation: c.activation,
                                  useBias: c.useBias, transposed: c.transposed)
        randomizeParameters(layer.parameters, seed: 131)
        let x = randomTensor([2, c.size, c.size, 3], seed: 132)
        let summary = GradientCheck(skipKinks: hasKink(c.activation)).check(layer, input: x, context: .inference)
        #expect(summary.checked >= 3 * summary.skipped, "\(summary.skipped) entries skipped as kinks")
    }

    /// D on real and on fake data: two passes through replicas before either backward pass add
    /// their gradients, each computed from its own cached input.
    @Test(arguments: [false, true])
    func replicasAddTheirGradients(transposed: Bool) {
        let engine = Engine()
        let layer = Convolution2D(engine, inputShape: [5, 5, 2], filters: 3, kernelSize: (3, 3), strides: (2, 2),
                                  padding: .same, activation: .tanh, transposed: transposed)
        randomizeParameters(layer.parameters, seed: 141)
        let replica = layer.replica()
        let real = randomTensor([2, 5, 5, 2], seed: 142), fake = randomTensor([2, 5, 5, 2], seed: 143)
        let outputShape = [2] + layer.outputShape(for: [5, 5, 2])
        let dReal = randomTensor(outputShape, seed: 144), dFake = randomTensor(outputShape, seed: 145)
        func gradients(_ passes: [(Layer, Tensor, Tensor)]) -> [[Float]] {
            for p in layer.parameters { p.gradient!.zero() }
            for (l, x, _) in passes { _ = l.forward(x, context: .inference) }
            for (l, _, dy) in passes { _ = l.backward(dy, parameterGradients: true, inputGradient: true) }
            return layer.parameters.map { $0.gradient!.scalars }
        }
        let alone = [gradients([(layer, real, dReal)]), gradients([(layer, fake, dFake)])]
        let together = gradients([(layer, real, dReal), (replica, fake, dFake)])
        for (k, p) in layer.parameters.enumerated() {
            for i in together[k].indices {
                let sum = alone[0][k][i] + alone[1][k][i]
                #expect(abs(together[k][i] - sum) <= 1e-5 * max(1, abs(sum)), "\(p.name)[\(i)]: \(together[k][i]) ≠ \(sum)")
            }
        }
    }

    @Test func geometryFollowsTensorFlowPadding() {
        // 'same', stride 2, even input: out 3, pad total (3 − 1)·2 + 3 − 6 = 1, all of it after.
        let g = ConvolutionGeometry(batch: 1, inputHeight: 6, inputWidth: 7, inputChannels: 1, outputChannels: 1,
                                    kernel: (3, 3), stride: (2, 2), padding: .same, transposed: false)
        #expect([g.outputHeight, g.padTop, g.padBottom] == [3, 0, 1])
        #expect([g.outputWidth, g.padLeft, g.padRight] == [4, 1, 1])
        // Transposed 'same', stride 2, kernel 5: out 2n, pad total 3, 1 before and 2 after.
        let t = ConvolutionGeometry(batch: 1, inputHeight: 7, inputWidth: 7, inputChannels: 4, outputChannels: 2,
                                    kernel: (5, 5), stride: (2, 2), padding: .same, transposed: true)
        #expect([t.outputHeight, t.padTop, t.padBottom] == [14, 1, 2])
        #expect(t.kernelShape == [5, 5, 2, 4])
    }
}
