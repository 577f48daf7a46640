// Reducing a long series to a few thousand points for drawing, keeping what the eye must see:
// each bucket's minimum and maximum, so a one-step spike in a million points still shows.

/// The series reduced to at most `2 · buckets` points: the minimum and the maximum of each
/// bucket, in x order.
///
/// Buckets split the x range, not the index range: bucket `k` of `buckets` holds the points with
/// ```
/// k = min(⌊(x − x.first) / (x.last − x.first) · buckets⌋, buckets − 1)
/// ```
/// so each bucket is the same width on the chart (a pixel column or a fraction of one), and a
/// dense stretch of points does not take more of the budget than a sparse one. Within a bucket
/// the minimum and the maximum are kept (once if they are the same point), the earlier first;
/// empty buckets give nothing. The global minimum and maximum therefore always survive, and so
/// does a single spike. This is the "min–max" reduction of M4 (Jugel et al., VLDB 2014) without
/// its first and last points per bucket.
///
/// `x` must be in nondecreasing order (steps as logged). Out-of-order or NaN x never crash: such
/// a point stays in the bucket before it. A NaN y is kept only if its whole bucket is NaN.
/// When `x.last − x.first` is not a positive finite number (all x equal, an infinite x, or x
/// not in order), buckets split the index range instead, ⌈count / buckets⌉ points each.
///
/// - Returns: `(x, y)` unchanged when there are at most `2 · buckets` points.
/// - Precondition: `x.count == y.count`; `buckets ≥ 1`.
/// - Complexity: O(n), two passes; a million points take a few milliseconds.
public func minMaxDownsample(x: [Double], y: [Double], buckets: Int) -> (x: [Double], y: [Double]) {
    precondition(x.count == y.count, "downsampling needs one x per y, got \(x.count) x for \(y.count) y")
    precondition(buckets >= 1, "downsampling needs at least one bucket, got \(buckets)")
    if x.count <= 2 * buckets { return (x, y) }

    var keptX: [Double] = []
    var keptY: [Double] = []
    keptX.reserveCapacity(2 * buckets)
    keptY.reserveCapacity(2 * buckets)
    y.withUnsafeBufferPointer { y in
        x.withUnsafeBufferPointer { x in
            for range in bucketRanges(x, buckets: buckets) {
                var lowest = range.lowerBound
                var highest = range.lowerBound
                for i in range.dropFirst() {
                    let value = y[i]
                    if value < y[lowest] || y[lowest].isNaN { lowest = i }
                    if value > y[highest] || y[highest].isNaN { highest = i }
                }
                let first = min(lowest, highest)
                let second = max(lowest, highest)
                keptX.append(x[first])
                keptY.append(y[first])
                if second != first {
                    keptX.append(x[second])
                    keptY.append(y[second])
                }
            }
        }
    }
    return (keptX, keptY)
}

/// A band reduced to at most `2 · buckets` points: for each bucket of `minMaxDownsample`, its
/// first and last x, both with the least `lower` and the greatest `upper` in the bucket.
///
/// The reduced band therefore covers the original everywhere (an envelope), which separate
/// min–max reductions of the two edges would not: their zigzags could cross.
/// - Returns: the input unchanged when there are at most `2 · buckets` points.
func envelopeDownsample(x: [Double], lower: [Double], upper: [Double],
                        buckets: Int) -> (x: [Double], lower: [Double], upper: [Double]) {
    precondition(x.count == lower.count && x.count == upper.count,
                 "a band needs one lower and one upper per x, got \(x.count) x, \(lower.count) lower, \(upper.count) upper")
    precondition(buckets >= 1, "downsampling needs at least one bucket, got \(buckets)")
    if x.count <= 2 * buckets { return (x, lower, upper) }

    var keptX: [Double] = [], keptLower: [Double] = [], keptUpper: [Double] = []
    keptX.reserveCapacity(2 * buckets)
    keptLower.reserveCapacity(2 * buckets)
    keptUpper.reserveCapacity(2 * buckets)
    for range in x.withUnsafeBufferPointer({ bucketRanges($0, buckets: buckets) }) {
        var low = lower[range.lowerBound]
        var high = upper[range.lowerBound]
        for i in range.dropFirst() {
            low = Swift.min(low, lower[i])
            high = Swift.max(high, upper[i])
        }
        keptX.append(x[range.lowerBound])
        keptLower.append(low)
        keptUpper.append(high)
        if range.count > 1 {
            keptX.append(x[range.upperBound - 1])
            keptLower.append(low)
            keptUpper.append(high)
        }
    }
    return (keptX, keptLower, keptUpper)
}

/// The index ranges of the non-empty x-range buckets, in order (see `minMaxDownsample`).
private func bucketRanges(_ x: UnsafeBufferPointer<Double>, buckets: Int) -> [Range<Int>] {
    let count = x.count
    guard count > 0 else { return [] }
    let span = x[count - 1] - x[0]
    let byIndex = !(span.isFinite && span > 0)
    let scale = byIndex ? 0 : Double(buckets) / span
    let origin = x[0]
    let lastBucket = Double(buckets - 1)

    var ranges: [Range<Int>] = []
    ranges.reserveCapacity(Swift.min(buckets, count))
    var start = 0
    var current = 0
    for i in 1..<count {
        let bucket: Int
        if byIndex {
            bucket = i / Swift.max(1, count / buckets + (count % buckets == 0 ? 0 : 1))
        } else {
            // A NaN position, or one behind the current bucket, stays in the current bucket.
            let position = ((x[i] - origin) * scale).rounded(.down)
            bucket = position > Double(current) ? Int(Swift.min(position, lastBucket)) : current
        }
        if bucket > current {
            ranges.append(start..<i)
            start = i
            current = bucket
        }
    }
    ranges.append(start..<count)
    return ranges
}
