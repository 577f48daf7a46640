// What line charts and scatter plots share: the plot rectangle with its axes, the major grid
// with its tick labels, and text in the charts' font.

import CCairo

/// The plot rectangle and the mapping from data units to canvas coordinates.
struct PlotArea {
    var left: Double, top: Double, right: Double, bottom: Double
    var xAxis: ChartAxis, yAxis: ChartAxis

    /// Where a point lands on the canvas. Cairo stores coordinates as 24.8 fixed point: far-away
    /// points are kept well inside that.
    func point(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        let px = left + xAxis.fraction(x) * (right - left)
        let py = bottom - yAxis.fraction(y) * (bottom - top)
        return (min(max(px, -1e5), 1e5), min(max(py, -1e5), 1e5))
    }

    /// A line at half a pixel, so that a one-pixel line is crisp.
    static func crisp(_ v: Double) -> Double { v.rounded(.down) + 0.5 }

    /// The grid lines at the major ticks of both axes in `gray`, then the tick labels.
    func drawMajorGridAndLabels(_ cr: OpaquePointer, gray: Double) {
        cairo_set_line_width(cr, 1)
        cairo_set_source_rgb(cr, gray, gray, gray)
        for tick in yAxis.ticks {
            let y = Self.crisp(point(xAxis.lower, tick).y)
            cairo_move_to(cr, left, y)
            cairo_line_to(cr, right, y)
        }
        for tick in xAxis.ticks {
            let x = Self.crisp(point(tick, yAxis.lower).x)
            cairo_move_to(cr, x, top)
            cairo_line_to(cr, x, bottom)
        }
        cairo_stroke(cr)
        ChartText.setFont(cr, size: 10.5)
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3)
        for (tick, label) in zip(yAxis.ticks, yAxis.labels) {
            let y = point(xAxis.lower, tick).y
            ChartText.show(cr, label, x: left - 6 - ChartText.width(cr, label), y: y + 4)
        }
        for (tick, label) in zip(xAxis.ticks, xAxis.labels) {
            let x = point(tick, yAxis.lower).x
            ChartText.show(cr, label, x: x - ChartText.width(cr, label) / 2, y: bottom + 16)
        }
    }
}

/// Text in the charts' font (DejaVu Sans, Debian's default).
enum ChartText {
    static func setFont(_ cr: OpaquePointer, size: Double, bold: Bool = false) {
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
    }

    /// The advance of `text` in the current font.
    static func width(_ cr: OpaquePointer, _ text: String) -> Double {
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    /// `text` with its baseline starting at (x, y).
    static func show(_ cr: OpaquePointer, _ text: String, x: Double, y: Double) {
        cairo_move_to(cr, x, y)
        cairo_show_text(cr, text)
    }
}
