// A scatter chart of 2-D points coloured by category (a class, real or generated), one or more
// panels side by side, rendered with Cairo to PNG or SVG in the line charts' look.

import CCairo
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Points in the plane, each coloured by its category, in panels side by side.
///
/// Each panel has its own title, legend (one entry per category, with its count) and axes with
/// "nice" ticks around its points. Category c takes colour c of the line charts' palette
/// (matplotlib's tab10), so ten categories are distinct. Points are drawn in the order given,
/// as discs of `pointRadius` at `pointOpacity`; points with a non-finite coordinate are skipped
/// and counted in the panel's corner.
public struct ScatterPlot: CairoFigure {
    /// One panel: its points and what their categories are called.
    public struct Panel: Sendable {
        /// The panel's title.
        public let title: String
        /// The name of each category, in colour order.
        public let categories: [String]
        /// The points' horizontal coordinates.
        public let x: [Double]
        /// The points' vertical coordinates.
        public let y: [Double]
        /// Each point's category, an index into `categories`.
        public let category: [Int]

        /// A panel of points (`x[i]`, `y[i]`) in category `category[i]`.
        ///
        /// - Precondition: `x`, `y` and `category` have the same length; every category is an
        ///   index into `categories`; at most 10 categories (the palette's colours).
        public init(title: String, categories: [String], x: [Double], y: [Double], category: [Int]) {
            precondition(x.count == y.count && y.count == category.count,
                         "a scatter panel needs as many x (\(x.count)), y (\(y.count)) and categories (\(category.count))")
            precondition(!categories.isEmpty && categories.count <= chartPalette.count,
                         "a scatter panel has 1 to \(chartPalette.count) categories, got \(categories.count)")
            precondition(category.allSatisfy { categories.indices.contains($0) },
                         "a scatter point's category is outside 0..<\(categories.count)")
            self.title = title
            self.categories = categories
            self.x = x
            self.y = y
            self.category = category
        }

        /// How many points of each category there are.
        public var counts: [Int] {
            var counts = [Int](repeating: 0, count: categories.count)
            for c in category { counts[c] += 1 }
            return counts
        }

        /// The points with a non-finite coordinate, which are not drawn.
        public var nonFiniteCount: Int { zip(x, y).filter { !($0.0.isFinite && $0.1.isFinite) }.count }
    }

    /// The chart's title, above the panels.
    public let title: String
    /// The panels, left to right.
    public let panels: [Panel]
    /// The canvas width in pixels (points in SVG).
    public let width: Int
    /// The canvas height in pixels.
    public let height: Int
    /// Each point's radius in pixels.
    public let pointRadius: Double
    /// Each point's opacity, in (0, 1].
    public let pointOpacity: Double

    /// A chart of `panels` side by side under `title`.
    ///
    /// - Precondition: at least one panel, at least 240 × 200 pixels per panel, a positive
    ///   radius and an opacity in (0, 1].
    public init(title: String = "", panels: [Panel], width: Int? = nil, height: Int = 600,
                pointRadius: Double = 2.2, pointOpacity: Double = 0.75) {
        precondition(!panels.isEmpty, "a scatter plot needs at least one panel")
        let width = width ?? 40 + 560 * panels.count
        precondition(width >= 240 * panels.count && height >= 200,
                     "a scatter plot of \(panels.count) panels needs at least \(240 * panels.count)×200 pixels, got \(width)×\(height)")
        precondition(pointRadius > 0 && pointOpacity > 0 && pointOpacity <= 1,
                     "a scatter plot needs a positive radius and an opacity in (0, 1], got \(pointRadius) and \(pointOpacity)")
        self.title = title
        self.panels = panels
        self.width = width
        self.height = height
        self.pointRadius = pointRadius
        self.pointOpacity = pointOpacity
    }

    // MARK: Layout

    /// A panel's plot rectangle and axes.
    typealias Area = PlotArea

    /// Legend entries per row.
    static let legendColumns = 4

    /// The plot rectangle and axes of panel `index`; the layout depends only on the sizes and
    /// the data, so tests can find where a point is drawn.
    func area(ofPanel index: Int) -> Area {
        let panel = panels[index]
        let panelWidth = Double(width) / Double(panels.count)
        let legendRows = (panel.categories.count + Self.legendColumns - 1) / Self.legendColumns
        let left = panelWidth * Double(index) + 58
        let right = panelWidth * Double(index + 1) - 16
        let top = (title.isEmpty ? 12.0 : 40.0) + 24 + 18 * Double(legendRows) + 8
        let bottom = Double(height) - 34
        let finite = zip(panel.x, panel.y).filter { $0.0.isFinite && $0.1.isFinite }
        let xs = finite.map(\.0), ys = finite.map(\.1)
        let xAxis = ChartAxis(linearFrom: xs.min() ?? 0, to: xs.max() ?? 1, targetTicks: max(2, Int((right - left) / 90)), margin: 0.05)
        let yAxis = ChartAxis(linearFrom: ys.min() ?? 0, to: ys.max() ?? 1, targetTicks: max(2, Int((bottom - top) / 70)), margin: 0.05)
        return Area(left: left, top: top, right: right, bottom: bottom, xAxis: xAxis, yAxis: yAxis)
    }

    // MARK: Drawing

    /// Draws the whole chart on `context` (a `cairo_t *`).
    func draw(_ context: OpaquePointer) {
        let cr = context
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        if !title.isEmpty {
            ChartText.setFont(cr, size: 15, bold: true)
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
            ChartText.show(cr, title, x: 16, y: 26)
        }
        for index in panels.indices { drawPanel(cr, index) }
    }

    private func drawPanel(_ cr: OpaquePointer, _ index: Int) {
        let panel = panels[index]
        let area = area(ofPanel: index)
        let panelLeft = Double(width) / Double(panels.count) * Double(index)
        let titleY = (title.isEmpty ? 12.0 : 40.0) + 14

        ChartText.setFont(cr, size: 13, bold: true)
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15)
        ChartText.show(cr, panel.title, x: panelLeft + 16, y: titleY)

        // The legend: a disc and "name (count)" per category, four to a row.
        ChartText.setFont(cr, size: 11)
        let counts = panel.counts
        // Few categories share the row's width; many take four columns a row.
        let columnWidth = (area.right - panelLeft - 16) / Double(min(Self.legendColumns, panel.categories.count))
        for (c, name) in panel.categories.enumerated() {
            let x = panelLeft + 16 + Double(c % Self.legendColumns) * columnWidth
            let y = titleY + 20 + 18 * Double(c / Self.legendColumns)
            let color = chartPalette[c]
            cairo_set_source_rgb(cr, color.red, color.green, color.blue)
            cairo_arc(cr, x + 5, y - 4, 4.5, 0, 2 * Double.pi)
            cairo_fill(cr)
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15)
            ChartText.show(cr, "\(name) (\(ChartAxis.grouped(counts[c])))", x: x + 14, y: y)
        }

        area.drawMajorGridAndLabels(cr, gray: 0.9)
        cairo_save(cr)
        cairo_rectangle(cr, area.left, area.top, area.right - area.left, area.bottom - area.top)
        cairo_clip(cr)
        for i in panel.x.indices where panel.x[i].isFinite && panel.y[i].isFinite {
            let p = area.point(panel.x[i], panel.y[i])
            let color = chartPalette[panel.category[i]]
            cairo_set_source_rgba(cr, color.red, color.green, color.blue, pointOpacity)
            cairo_new_path(cr)
            cairo_arc(cr, p.x, p.y, pointRadius, 0, 2 * Double.pi)
            cairo_fill(cr)
        }
        cairo_restore(cr)

        cairo_set_source_rgb(cr, 0.55, 0.55, 0.55)
        cairo_set_line_width(cr, 1)
        cairo_rectangle(cr, area.left.rounded(.down) + 0.5, area.top.rounded(.down) + 0.5,
                        (area.right - area.left).rounded(.down), (area.bottom - area.top).rounded(.down))
        cairo_stroke(cr)

        let skipped = panel.nonFiniteCount
        if skipped > 0 {
            ChartText.setFont(cr, size: 10.5)
            cairo_set_source_rgb(cr, 0.4, 0.4, 0.4)
            let note = "\(ChartAxis.grouped(skipped)) non-finite skipped"
            ChartText.show(cr, note, x: area.right - ChartText.width(cr, note), y: Double(height) - 8)
        }
    }
}

extension ScatterPlot {
    /// `width`.
    public var canvasWidth: Int { width }
    /// `height`.
    public var canvasHeight: Int { height }
    /// Draws the chart on a Cairo context of `width` × `height`.
    public func draw(on context: OpaquePointer) { draw(context) }
}
