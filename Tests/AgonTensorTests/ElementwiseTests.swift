// Elementwise: every SIMD kernel against a scalar loop, at lengths around the 16-lane block
// (empty, tail only, one block, block plus tail, several blocks).
import AgonTensor
import Testing

private let lengths = [0, 1, 15, 16, 17, 100]

/// `count` values uniform in `range`, seeded; storage is never empty, so pointers are valid.
private func values(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -2...2) -> Tensor {
    let t = Tensor(zeros: [count])
    CounterRandom(seed: seed).fillUniform(t.pointer, count: count, low: range.lowerBound, high: range.upperBound,
                                          stream: .fixedNoise, 0, 0)
    return t
}

private func expectClose(_ got: Tensor, _ want: [Float], tolerance: Float = 1e-6, _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, sourceLocation: sourceLocation)
    for i in want.indices where !(abs(got[i] - want[i]) <= tolerance * max(1, abs(want[i]))) {
        Issue.record("\(label)[\(i)] of \(want.count) = \(got[i]), expected \(want[i])", sourceLocation: sourceLocation)
        return
    }
}

@Suite struct ElementwiseTests {
    @Test(arguments: lengths)
    func addAndScale(count: Int) {
        let x = values(count, seed: 1), y = values(count, seed: 2)
        let expected = zip(x.scalars, y.scalars).map { $1 + $0 }
        Elementwise.add(x.pointer, into: y.pointer, count: count)
        expectClose(y, expected, "add")
        let scaled = y.scalars.map { $0 * -1.5 }
        Elementwise.scale(y.pointer, by: -1.5, count: count)
        expectClose(y, scaled, "scale")
    }

    @Test(arguments: lengths)
    func sumOfSquares(count: Int) {
        let x = values(count, seed: 3)
        let expected = x.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }
        let got = Elementwise.sumOfSquares(x.pointer, count: count)
        #expect(abs(got - expected) <= 1e-5 * max(1, expected), "Σx² = \(got), expected \(expected)")
    }

    @Test(arguments: lengths)
    func rowVectorsAndColumnSums(length: Int) {
        let rows = 3
        let bias = values(length, seed: 4), y = values(rows * length, seed: 5)
        let before = y.scalars
        Elementwise.addRowVector(bias.pointer, to: y.pointer, rows: rows, length: length)
        expectClose(y, before.indices.map { before[$0] + bias[$0 % max(length, 1)] }, "addRowVector")

        let sums = values(length, seed: 6)
        var expected = sums.scalars
        for r in 0..<rows { for j in 0..<length { expected[j] += y[r * length + j] } }
        Elementwise.accumulateColumnSums(of: y.pointer, rows: rows, length: length, into: sums.pointer)
        expectClose(sums, expected, tolerance: 1e-5, "accumulateColumnSums")

        let filled = values(rows * length, seed: 7)
        Elementwise.fillRows(filled.pointer, with: bias.pointer, rows: rows, length: length)
        expectClose(filled, (0..<rows * length).map { bias[$0 % max(length, 1)] }, "fillRows")
    }

    @Test(arguments: lengths, [Float(0), 0.3])
    func leakyReLUForwardAndBackward(count: Int, slope: Float) {
        let x = values(count, seed: 8)
        if count > 2 { x[1] = 0; x[2] = -0.0 }   // the kink itself: both paths must agree
        let y = Tensor(zeros: [count])
        Elementwise.leakyReLU(x.pointer, y.pointer, count: count, slope: slope)
        expectClose(y, x.scalars.map { $0 > 0 ? $0 : slope * $0 }, "leakyReLU slope \(slope)")

        let dy = values(count, seed: 9), dx = Tensor(zeros: [count])
        Elementwise.leakyReLUBackward(x.pointer, dy.pointer, dx.pointer, count: count, slope: slope)
        expectClose(dx, (0..<count).map { x[$0] > 0 ? dy[$0] : slope * dy[$0] }, "leakyReLUBackward slope \(slope)")
        // From the output instead of the input: the same signs, so the same gradient.
        let fromOutput = Tensor(zeros: [count])
        Elementwise.leakyReLUBackward(y.pointer, dy.pointer, fromOutput.pointer, count: count, slope: slope)
        expectClose(fromOutput, dx.scalars, "leakyReLUBackward from the output, slope \(slope)")
    }

    @Test(arguments: lengths)
    func sigmoidAndTanhBackward(count: Int) {
        let y = values(count, seed: 10, in: -0.99...0.99), dy = values(count, seed: 11), dx = Tensor(zeros: [count])
        Elementwise.sigmoidBackward(y.pointer, dy.pointer, dx.pointer, count: count)
        expectClose(dx, (0..<count).map { dy[$0] * y[$0] * (1 - y[$0]) }, "sigmoidBackward")
        Elementwise.tanhBackward(y.pointer, dy.pointer, dx.pointer, count: count)
        expectClose(dx, (0..<count).map { dy[$0] * (1 - y[$0] * y[$0]) }, "tanhBackward")
    }

    @Test(arguments: lengths)
    func applyMask(count: Int) {
        let x = values(count, seed: 12), mask = values(count, seed: 13, in: 0...1), y = Tensor(zeros: [count])
        for i in 0..<count { mask[i] = mask[i] < 0.4 ? 0 : 1 }
        Elementwise.applyMask(x.pointer, mask: mask.pointer, y.pointer, count: count, scale: 1 / 0.6)
        expectClose(y, (0..<count).map { x[$0] * mask[$0] * (1 / 0.6) }, "applyMask")
        // In place, as a layer may run it.
        Elementwise.applyMask(x.pointer, mask: mask.pointer, x.pointer, count: count, scale: 2)
        expectClose(x, (0..<count).map { y[$0] * 0.6 * 2 }, tolerance: 1e-5, "applyMask in place")
    }

    @Test func unalignedPointersWork() {
        // Layers pass row offsets that are not 64-byte aligned.
        let x = values(40, seed: 14), y = values(40, seed: 15)
        let expected = (0..<37).map { y[$0 + 3] + x[$0 + 1] }
        Elementwise.add(x.pointer + 1, into: y.pointer + 3, count: 37)
        expectClose(Tensor(shape: [37], values: Array(y.scalars[3...])), expected, "add at offsets 1 and 3")
    }
}
