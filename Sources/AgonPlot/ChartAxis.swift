// An axis of a chart: a "nice" domain around the data, its ticks (1-2-5 steps, or powers of
// ten on a log scale) and their labels. Shared by every chart kind.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A chart axis: the domain in data units, the labelled ticks and the unlabelled minor ones.
struct ChartAxis {
    /// How data values map to positions along the axis.
    enum Kind { case linear, log }

    let kind: Kind
    /// The domain, in data units: `lower` maps to 0, `upper` to 1.
    let lower: Double
    let upper: Double
    /// Labelled tick values, in order, inside the domain.
    let ticks: [Double]
    /// The labels of `ticks`.
    let labels: [String]
    /// Grid-only ticks (2…9 × 10ⁿ on a log axis of few decades).
    let minorTicks: [Double]

    /// A linear axis over [`low`, `high`] widened by `margin` of its span at each end (as
    /// matplotlib's default margins), with ticks at the multiples of a 1-2-5 step inside it.
    ///
    /// The step is d3's `tickIncrement` (d3-array, ticks.js): the 1-2-5 number nearest, in
    /// ratio, to the span over `targetTicks`:
    /// ```
    /// raw = (upper − lower) / targetTicks;  m = 10^⌊log₁₀ raw⌋;  f = raw / m
    /// step = m · (f ≥ √50 ? 10 : f ≥ √10 ? 5 : f ≥ √2 ? 2 : 1)
    /// ticks = k · step  for ⌈lower / step⌉ ≤ k ≤ ⌊upper / step⌋
    /// ```
    /// An empty range is widened by 10 % of its value (±1 around 0) first. The domain is not
    /// rounded out to whole steps: on a live chart that would waste up to a step at each end.
    init(linearFrom low: Double, to high: Double, targetTicks: Int, margin: Double = 0) {
        var (low, high) = (Swift.min(low, high), Swift.max(low, high))
        if !(low.isFinite && high.isFinite) { (low, high) = (0, 1) }
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        }
        let pad = (high - low) * margin
        if (low - pad).isFinite && (high + pad).isFinite { (low, high) = (low - pad, high + pad) }
        kind = .linear
        minorTicks = []
        (lower, upper) = (low, high)
        let raw = (high - low) / Double(Swift.max(1, targetTicks))
        guard raw.isFinite, raw > 0 else {
            (ticks, labels) = ([], [])
            return
        }
        let magnitude = pow(10, log10(raw).rounded(.down))
        let fraction = raw / magnitude
        let step = magnitude * (fraction >= 50.0.squareRoot() ? 10 : fraction >= 10.0.squareRoot() ? 5 : fraction >= 2.0.squareRoot() ? 2 : 1)
        // A tick a rounding error outside the domain still belongs on it.
        let slack = step * 1e-9
        var ticks: [Double] = []
        var k = ((low - slack) / step).rounded(.up)
        // The cap guards against steps below the values' precision, where k + 1 == k.
        while k * step <= high + slack, ticks.count < 50 {
            ticks.append(k * step + 0)  // + 0 turns −0 into 0
            k += 1
        }
        self.ticks = ticks
        labels = ticks.map { Self.linearLabel($0, step: step) }
    }

    /// A log axis over [`low`, `high`] (both positive).
    ///
    /// Over 1.5 decades or more, the domain is widened to whole decades and ticks sit at powers
    /// of ten, every decade or every k decades so that there are at most about eight; with at
    /// most six decades, 2…9 × 10ⁿ get grid lines too. Over less, whole decades would squash
    /// the curve into a sliver, so the domain is the data's, padded by 5 % of its log span
    /// (at least 0.2 decade in all), with ticks at the 1-2-5 multiples of powers of ten inside
    /// it, or at every integer multiple if that gives fewer than three, or at linear 1-2-5
    /// steps if even that does.
    init(logFrom low: Double, to high: Double) {
        var (low, high) = (Swift.min(low, high), Swift.max(low, high))
        if !(low > 0 && low.isFinite && high.isFinite) { (low, high) = (1, 10) }
        kind = .log
        // Below 1e-307 lie the subnormals, whose powers of ten round to 0.
        let a = Swift.max(-307, log10(low)), b = Swift.min(308, log10(high))
        if b - a >= 1.5 {
            var first = a.rounded(.down)
            var last = b.rounded(.up)
            let stride = Swift.max(1, ((last - first) / 8).rounded(.up))
            first = Swift.max(-307, (first / stride).rounded(.down) * stride)
            last = Swift.min(308, (last / stride).rounded(.up) * stride)
            lower = pow(10, first)
            upper = pow(10, last)
            var exponents: [Double] = []
            var e = first
            while e <= last, exponents.count < 50 {
                exponents.append(e)
                e += stride
            }
            ticks = exponents.map { pow(10, $0) }
            labels = exponents.map(Self.powerOfTenLabel)
            minorTicks = stride == 1 && last - first <= 6
                ? exponents.dropLast().flatMap { e in (2...9).map { Double($0) * pow(10, e) } }
                : []
            return
        }
        let pad = Swift.max(0.05 * (b - a), (0.2 - (b - a)) / 2)
        let (lower, upper) = (pow(10, Swift.max(-307, a - pad)), pow(10, Swift.min(308, b + pad)))
        (self.lower, self.upper) = (lower, upper)
        // Every m · 10ⁿ inside the domain, with the 10ⁿ it is a multiple of.
        var multiples: [(value: Double, multiplier: Int, power: Double)] = []
        var e = (a - pad).rounded(.down)
        while e <= (b + pad).rounded(.up) {
            let power = pow(10, e)
            for m in 1...9 where Double(m) * power >= lower && Double(m) * power <= upper {
                multiples.append((Double(m) * power, m, power))
            }
            e += 1
        }
        var chosen = multiples.filter { [1, 2, 5].contains($0.multiplier) }
        if chosen.count < 3 { chosen = multiples }
        if chosen.count >= 3 {
            let ticks = chosen.map(\.value)
            self.ticks = ticks
            labels = chosen.map { Self.linearLabel($0.value, step: $0.power) }
            minorTicks = multiples.map(\.value).filter { !ticks.contains($0) }
        } else {
            let linear = ChartAxis(linearFrom: lower, to: upper, targetTicks: 5)
            let inside = zip(linear.ticks, linear.labels).filter { $0.0 >= lower && $0.0 <= upper }
            ticks = inside.map(\.0)
            labels = inside.map(\.1)
            minorTicks = []
        }
    }

    /// Where `value` falls along the axis: 0 at `lower`, 1 at `upper` (outside for values
    /// outside; −∞ for non-positive values on a log axis).
    func fraction(_ value: Double) -> Double {
        switch kind {
        case .linear:
            return upper > lower ? (value - lower) / (upper - lower) : 0.5
        case .log:
            let (a, b) = (log10(lower), log10(upper))
            return b > a ? (log10(value) - a) / (b - a) : 0.5
        }
    }

    /// A linear tick label: enough decimals for `step`, trailing zeros trimmed, and from 10⁴ up
    /// an SI suffix (k, M, G, T): 200k, 1.5M.
    static func linearLabel(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        var (scaled, scaledStep, suffix) = (value, step, "")
        if abs(value) >= 1e4, let unit = units.first(where: { abs(value) >= $0.0 }) {
            (scaled, scaledStep, suffix) = (value / unit.0, step / unit.0, unit.1)
        }
        let decimals = Swift.min(12, Swift.max(0, -(Int(exactly: (log10(scaledStep) + 1e-9).rounded(.down)) ?? 0)))
        return fixed(scaled, decimals: decimals, trimmingZeros: true) + suffix
    }

    /// 10ⁿ as a label: plain from 0.001 to 1000, "10⁻⁵" style outside.
    static func powerOfTenLabel(_ exponent: Double) -> String {
        guard let n = Int(exactly: exponent) else { return "\(pow(10, exponent))" }
        if (-3...3).contains(n) { return fixed(pow(10, exponent), decimals: Swift.max(0, -n), trimmingZeros: false) }
        let superscripts: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        let digits = String(abs(n)).map { superscripts[Int(String($0))!] }
        return "10" + (n < 0 ? "⁻" : "") + String(digits)
    }

    /// `value` with `decimals` digits after the point (no Foundation: rounds through Int64),
    /// falling back to Swift's own description where that would overflow.
    static func fixed(_ value: Double, decimals: Int, trimmingZeros: Bool) -> String {
        let factor = pow(10, Double(decimals))
        let scaled = (value * factor).rounded()
        guard scaled.isFinite, abs(scaled) < 9e15, let whole = Int64(exactly: scaled) else { return "\(value)" }
        var digits = String(abs(whole))
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
            if trimmingZeros {
                while digits.last == "0" { digits.removeLast() }
                if digits.last == "." { digits.removeLast() }
            }
        }
        return (whole < 0 ? "−" : "") + digits
    }

    /// `count` with thousands separators: 4,000,000.
    static func grouped(_ count: Int) -> String { ChartFormat.grouped(count) }
}

/// How charts write numbers in their text, for callers that title a chart the same way.
public enum ChartFormat {
    /// `count` with thousands separators: 4,000,000.
    public static func grouped(_ count: Int) -> String {
        let digits = Array(String(count.magnitude))
        var text = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return (count < 0 ? "-" : "") + text
    }
}
