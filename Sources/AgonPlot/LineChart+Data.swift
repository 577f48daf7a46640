// From workers' raw points to what a line chart draws: clean and sort each worker, merge them
// into the cross-worker mean and band, smooth the mean, downsample every line.

/// A polyline in data units.
struct PreparedLine {
    var x: [Double]
    var y: [Double]
}

/// One series, ready to draw.
struct PreparedSeries {
    var name: String
    /// Workers with at least one drawable point.
    var workerCount: Int
    /// Each worker's raw points, downsampled.
    var workerLines: [PreparedLine]
    /// The min–max band across workers, as an envelope.
    var bandX: [Double]
    var bandLower: [Double]
    var bandUpper: [Double]
    /// The mean, smoothed when smoothing is on.
    var mean: PreparedLine
    /// The unsmoothed mean, present only when smoothing is on.
    var rawMean: PreparedLine?
}

/// Every series of a chart, ready to draw, with its ranges and counts.
struct PreparedChart {
    var series: [PreparedSeries]
    /// The x and y extent of everything drawn; nil when nothing can be drawn.
    var xRange: ClosedRange<Double>?
    var yRange: ClosedRange<Double>?
    var totalPointCount = 0
    var drawnPointCount = 0
    var nonFinitePointCount = 0
    var nonPositivePointCount = 0
}

extension LineChart {
    /// Cleans, merges, smooths and downsamples `series` (see the type's documentation).
    static func prepare(_ series: [ChartSeries], yScale: Scale, smoothing: Smoothing, buckets: Int) -> PreparedChart {
        var chart = PreparedChart(series: [])
        var xLow = Double.infinity, xHigh = -Double.infinity
        var yLow = Double.infinity, yHigh = -Double.infinity
        func extend(_ line: PreparedLine) {
            guard let first = line.x.first, let last = line.x.last else { return }
            xLow = min(xLow, first)
            xHigh = max(xHigh, last)
            for y in line.y { yLow = min(yLow, y); yHigh = max(yHigh, y) }
        }

        for item in series {
            var workers: [(steps: [Double], values: [Double])] = []
            for worker in item.workers {
                chart.totalPointCount += worker.values.count
                let cleaned = clean(steps: worker.steps, values: worker.values, positiveOnly: yScale == .log)
                chart.nonFinitePointCount += cleaned.nonFinite
                chart.nonPositivePointCount += cleaned.nonPositive
                if !cleaned.steps.isEmpty { workers.append((cleaned.steps, cleaned.values)) }
            }
            let workerLines = workers.map { worker in
                let reduced = minMaxDownsample(x: worker.steps, y: worker.values, buckets: buckets)
                return PreparedLine(x: reduced.x, y: reduced.y)
            }
            let merged = mergeWorkers(workers)
            let smoothed = smoothing.apply(steps: merged.steps, values: merged.mean)
            let band = envelopeDownsample(x: merged.steps, lower: merged.low, upper: merged.high, buckets: buckets)
            let mean = minMaxDownsample(x: merged.steps, y: smoothed, buckets: buckets)
            var rawMean: PreparedLine? = nil
            if smoothing != .none {
                let raw = minMaxDownsample(x: merged.steps, y: merged.mean, buckets: buckets)
                rawMean = PreparedLine(x: raw.x, y: raw.y)
            }
            let prepared = PreparedSeries(
                name: item.name, workerCount: workers.count, workerLines: workerLines,
                bandX: band.x, bandLower: band.lower, bandUpper: band.upper,
                mean: PreparedLine(x: mean.x, y: mean.y), rawMean: rawMean)
            for line in workerLines {
                chart.drawnPointCount += line.x.count
                extend(line)
            }
            extend(prepared.mean)
            chart.series.append(prepared)
        }
        if xLow <= xHigh && yLow <= yHigh {
            chart.xRange = xLow...xHigh
            chart.yRange = yLow...yHigh
        }
        return chart
    }

    /// A worker's points with non-finite ones (and, for a log scale, values ≤ 0) removed,
    /// sorted by step, keeping the logged order among equal steps.
    ///
    /// Returns the input arrays themselves, uncopied, when nothing is removed and they are in
    /// order, which is the usual case.
    static func clean(steps: [Double], values: [Double], positiveOnly: Bool)
        -> (steps: [Double], values: [Double], nonFinite: Int, nonPositive: Int) {
        var nonFinite = 0, nonPositive = 0
        var sorted = true
        steps.withUnsafeBufferPointer { steps in
            values.withUnsafeBufferPointer { values in
                var previous = -Double.infinity
                for i in 0..<values.count {
                    let (step, value) = (steps[i], values[i])
                    if !step.isFinite || !value.isFinite {
                        nonFinite += 1
                    } else if positiveOnly && value <= 0 {
                        nonPositive += 1
                    } else {
                        if step < previous { sorted = false }
                        previous = step
                    }
                }
            }
        }
        var keptSteps = steps, keptValues = values
        if nonFinite + nonPositive > 0 {
            keptSteps = []
            keptValues = []
            let kept = values.count - nonFinite - nonPositive
            keptSteps.reserveCapacity(kept)
            keptValues.reserveCapacity(kept)
            for i in 0..<values.count {
                let (step, value) = (steps[i], values[i])
                guard step.isFinite, value.isFinite, !(positiveOnly && value <= 0) else { continue }
                keptSteps.append(step)
                keptValues.append(value)
            }
        }
        if !sorted {
            let order = keptSteps.indices.sorted { a, b in
                keptSteps[a] < keptSteps[b] || (keptSteps[a] == keptSteps[b] && a < b)
            }
            keptSteps = order.map { keptSteps[$0] }
            keptValues = order.map { keptValues[$0] }
        }
        return (keptSteps, keptValues, nonFinite, nonPositive)
    }

    /// The mean, minimum and maximum across workers at every step any worker logged, over the
    /// workers that logged it; a worker's repeated step counts once, with its last value.
    ///
    /// A k-way merge of the workers' sorted steps: O(n · workers).
    static func mergeWorkers(_ workers: [(steps: [Double], values: [Double])])
        -> (steps: [Double], mean: [Double], low: [Double], high: [Double]) {
        if workers.count == 1 { return (workers[0].steps, workers[0].values, workers[0].values, workers[0].values) }
        let capacity = workers.map(\.steps.count).max() ?? 0
        var steps: [Double] = [], mean: [Double] = [], low: [Double] = [], high: [Double] = []
        steps.reserveCapacity(capacity)
        mean.reserveCapacity(capacity)
        low.reserveCapacity(capacity)
        high.reserveCapacity(capacity)
        var cursors = [Int](repeating: 0, count: workers.count)
        while true {
            var next = Double.infinity
            for (w, worker) in workers.enumerated() where cursors[w] < worker.steps.count {
                next = min(next, worker.steps[cursors[w]])
            }
            guard next < .infinity else { break }
            var sum = 0.0, count = 0.0
            var lowest = Double.infinity, highest = -Double.infinity
            for (w, worker) in workers.enumerated() {
                var cursor = cursors[w]
                guard cursor < worker.steps.count, worker.steps[cursor] == next else { continue }
                while cursor + 1 < worker.steps.count, worker.steps[cursor + 1] == next { cursor += 1 }
                let value = worker.values[cursor]
                cursors[w] = cursor + 1
                sum += value
                count += 1
                lowest = min(lowest, value)
                highest = max(highest, value)
            }
            steps.append(next)
            mean.append(sum / count)
            low.append(lowest)
            high.append(highest)
        }
        return (steps, mean, low, high)
    }
}
