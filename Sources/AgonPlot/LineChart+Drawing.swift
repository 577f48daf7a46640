// How a line chart is drawn with Cairo: title and key, legend, grid and ticks, then each
// series' band, worker lines and mean, and the "N of M points drawn" corner.

import CCairo
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The series colours, in order: matplotlib's "tab10" (Tableau 10 classic), distinct on white
/// and to most colour-blind readers for the first few.
let chartPalette: [(red: Double, green: Double, blue: Double)] = [UInt32](arrayLiteral:
    0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF
).map { (rgb: UInt32) -> (red: Double, green: Double, blue: Double) in
    let red = Double((rgb >> 16) & 0xFF), green = Double((rgb >> 8) & 0xFF), blue = Double(rgb & 0xFF)
    return (red / 255, green / 255, blue / 255)
}

extension LineChart {
    /// Draws the whole chart on `context` (a `cairo_t *`).
    func draw(_ context: OpaquePointer) {
        let cr = context
        let (w, h) = (Double(width), Double(height))
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)

        // Title row: the title on the left, the key to the line styles on the right.
        ChartText.setFont(cr, size: 15, bold: true)
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
        ChartText.show(cr, title, x: 16, y: 24)
        let titleWidth = ChartText.width(cr, title)
        ChartText.setFont(cr, size: 10.5)
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4)
        let key = styleKey
        let keyWidth = ChartText.width(cr, key)
        // On a narrow chart the key gives way to the title.
        if 16 + titleWidth + 24 + keyWidth <= w - 16 { ChartText.show(cr, key, x: w - 16 - keyWidth, y: 24) }

        // Legend rows, wrapped to the width.
        ChartText.setFont(cr, size: 11.5)
        var legendX = 16.0, legendY = 46.0
        for (index, series) in prepared.series.enumerated() {
            let label = series.workerCount == 0 ? "\(series.name) (no data)" : series.name
            let entryWidth = 26 + ChartText.width(cr, label)
            if legendX > 16 && legendX + entryWidth > w - 16 {
                legendX = 16
                legendY += 18
            }
            let color = chartPalette[index % chartPalette.count]
            cairo_set_source_rgba(cr, color.red, color.green, color.blue, 0.18)
            cairo_rectangle(cr, legendX, legendY - 9, 20, 10)
            cairo_fill(cr)
            cairo_set_source_rgb(cr, color.red * 0.8, color.green * 0.8, color.blue * 0.8)
            cairo_set_line_width(cr, 2.5)
            cairo_move_to(cr, legendX, legendY - 4)
            cairo_line_to(cr, legendX + 20, legendY - 4)
            cairo_stroke(cr)
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15)
            ChartText.show(cr, label, x: legendX + 26, y: legendY)
            legendX += entryWidth + 22
        }

        let top = legendY + 14
        let bottom = h - 50
        let right = w - 20

        // The corner note and the x label sit under the plot whether or not there is data.
        ChartText.setFont(cr, size: 10.5)
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4)
        let note = annotation
        ChartText.show(cr, note, x: w - 12 - ChartText.width(cr, note), y: h - 10)

        guard let xRange = prepared.xRange, let yRange = prepared.yRange else {
            drawFrame(cr, left: 60, top: top, right: right, bottom: bottom)
            ChartText.setFont(cr, size: 18)
            cairo_set_source_rgb(cr, 0.5, 0.5, 0.5)
            let text = "no data"
            ChartText.show(cr, text, x: (60 + right - ChartText.width(cr, text)) / 2, y: (top + bottom) / 2 + 6)
            return
        }

        let yAxis = yScale == .log
            ? ChartAxis(logFrom: yRange.lowerBound, to: yRange.upperBound)
            : ChartAxis(linearFrom: yRange.lowerBound, to: yRange.upperBound,
                        targetTicks: max(2, Int((bottom - top) / 60)), margin: 0.04)
        ChartText.setFont(cr, size: 10.5)
        let labelWidth = yAxis.labels.map { ChartText.width(cr, $0) }.max() ?? 0
        let left = (yLabel.isEmpty ? 14 : 34) + labelWidth + 8
        let xAxis = ChartAxis(linearFrom: xRange.lowerBound, to: xRange.upperBound,
                              targetTicks: max(2, Int((right - left) / 110)))
        let area = PlotArea(left: left, top: top, right: right, bottom: bottom, xAxis: xAxis, yAxis: yAxis)

        drawGridAndTicks(cr, area)
        drawSeries(cr, area)
        drawFrame(cr, left: left, top: top, right: right, bottom: bottom)

        // Axis labels.
        ChartText.setFont(cr, size: 12)
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2)
        ChartText.show(cr, xLabel, x: (left + right - ChartText.width(cr, xLabel)) / 2, y: h - 12)
        if !yLabel.isEmpty {
            cairo_save(cr)
            cairo_translate(cr, 20, (top + bottom) / 2 + ChartText.width(cr, yLabel) / 2)
            cairo_rotate(cr, -Double.pi / 2)
            ChartText.show(cr, yLabel, x: 0, y: 0)
            cairo_restore(cr)
        }
    }

    /// "faint: 4 workers · bold: mean, EMA w = 0.6 · band: min–max", or less where it applies.
    private var styleKey: String {
        let workers = prepared.series.map(\.workerCount).max() ?? 0
        guard workers > 0 else { return "" }
        var parts = ["faint: \(workers) worker\(workers == 1 ? "" : "s")"]
        switch smoothing {
        case .none: parts.append("bold: mean")
        case .exponential(let weight): parts.append("bold: mean, EMA w = \(ChartAxis.fixed(weight, decimals: 4, trimmingZeros: true)) (pale: raw)")
        case .stepWeighted(let weight): parts.append("bold: mean, step EMA w = \(ChartAxis.fixed(weight, decimals: 6, trimmingZeros: true)) (pale: raw)")
        }
        if workers > 1 { parts.append("band: min–max") }
        return parts.joined(separator: " · ")
    }

    private func drawGridAndTicks(_ cr: OpaquePointer, _ area: PlotArea) {
        cairo_set_line_width(cr, 1)
        cairo_set_source_rgb(cr, 0.95, 0.95, 0.95)
        for tick in area.yAxis.minorTicks {
            let y = PlotArea.crisp(area.point(area.xAxis.lower, tick).y)
            cairo_move_to(cr, area.left, y)
            cairo_line_to(cr, area.right, y)
        }
        cairo_stroke(cr)
        area.drawMajorGridAndLabels(cr, gray: 0.88)
    }

    /// Bands first, then worker lines, raw means and means, each layer for every series, so a
    /// bold mean is never hidden under another series' faint lines.
    private func drawSeries(_ cr: OpaquePointer, _ area: PlotArea) {
        cairo_save(cr)
        cairo_rectangle(cr, area.left, area.top, area.right - area.left, area.bottom - area.top)
        cairo_clip(cr)
        let colors = prepared.series.indices.map { chartPalette[$0 % chartPalette.count] }

        for (series, color) in zip(prepared.series, colors) where series.workerCount > 1 {
            cairo_new_path(cr)
            for i in series.bandX.indices {
                let p = area.point(series.bandX[i], series.bandUpper[i])
                cairo_line_to(cr, p.x, p.y)
            }
            for i in series.bandX.indices.reversed() {
                let p = area.point(series.bandX[i], series.bandLower[i])
                cairo_line_to(cr, p.x, p.y)
            }
            cairo_close_path(cr)
            cairo_set_source_rgba(cr, color.red, color.green, color.blue, 0.16)
            cairo_fill(cr)
        }
        for (series, color) in zip(prepared.series, colors) {
            cairo_set_source_rgba(cr, color.red, color.green, color.blue, 0.3)
            for line in series.workerLines { strokeLine(cr, line, area, width: 0.8, round: false) }
        }
        for (series, color) in zip(prepared.series, colors) {
            guard let raw = series.rawMean else { continue }
            cairo_set_source_rgba(cr, color.red, color.green, color.blue, 0.45)
            strokeLine(cr, raw, area, width: 1.2, round: false)
        }
        for (series, color) in zip(prepared.series, colors) {
            // A pale halo lifts the mean off the dense worker lines; the colour is darkened a
            // little for the same reason.
            cairo_set_source_rgba(cr, 1, 1, 1, 0.7)
            strokeLine(cr, series.mean, area, width: 4.6, round: true)
            cairo_set_source_rgb(cr, color.red * 0.8, color.green * 0.8, color.blue * 0.8)
            strokeLine(cr, series.mean, area, width: 2.2, round: true)
        }
        cairo_restore(cr)
    }

    /// Strokes `line` in the current colour; a single point becomes a dot, and a non-finite
    /// value breaks the line.
    ///
    /// Round joins only where they show (`round`, for bold lines): on a thin line a bevel looks
    /// the same, and Cairo rasterises a dense zigzag with bevels about three times faster.
    private func strokeLine(_ cr: OpaquePointer, _ line: PreparedLine, _ area: PlotArea, width: Double, round: Bool) {
        cairo_new_path(cr)
        cairo_set_line_width(cr, width)
        cairo_set_line_join(cr, round ? CAIRO_LINE_JOIN_ROUND : CAIRO_LINE_JOIN_BEVEL)
        cairo_set_line_cap(cr, round ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT)
        if line.x.count == 1 {
            let p = area.point(line.x[0], line.y[0])
            if p.x.isFinite && p.y.isFinite {
                cairo_arc(cr, p.x, p.y, max(width, 1.5), 0, 2 * Double.pi)
                cairo_fill(cr)
            }
            return
        }
        var penDown = false
        for i in line.x.indices {
            let p = area.point(line.x[i], line.y[i])
            guard p.x.isFinite && p.y.isFinite else { penDown = false; continue }
            if penDown { cairo_line_to(cr, p.x, p.y) } else { cairo_move_to(cr, p.x, p.y) }
            penDown = true
        }
        cairo_stroke(cr)
    }

    private func drawFrame(_ cr: OpaquePointer, left: Double, top: Double, right: Double, bottom: Double) {
        cairo_set_source_rgb(cr, 0.55, 0.55, 0.55)
        cairo_set_line_width(cr, 1)
        cairo_rectangle(cr, left.rounded(.down) + 0.5, top.rounded(.down) + 0.5,
                        (right - left).rounded(.down), (bottom - top).rounded(.down))
        cairo_stroke(cr)
    }
}
