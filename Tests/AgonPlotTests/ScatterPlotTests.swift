// Scatter plots: points land where their coordinates say, in their category's colour, in PNG
// and in SVG, with one panel or two.
@testable import AgonPlot
import Foundation
import Testing

/// The tab10 colour of category `c`, as an opaque ARGB32 pixel.
private func pixel(ofCategory c: Int) -> UInt32 {
    let rgb: [UInt32] = [0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF]
    return 0xFF00_0000 | rgb[c]
}

@Suite("Scatter plots")
struct ScatterPlotTests {
    let classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    @Test("each point is drawn at its coordinates in its category's colour")
    func pointsLandInTheirColour() throws {
        let panels = [
            ScatterPlot.Panel(title: "by class", categories: classes, x: [-3, 0, 4, .nan], y: [1, 5, -2, 0], category: [3, 7, 0, 1]),
            ScatterPlot.Panel(title: "real or generated", categories: ["real", "generated"], x: [10, 20], y: [10, 30], category: [0, 1]),
        ]
        let plot = ScatterPlot(title: "t-SNE", panels: panels, pointRadius: 5, pointOpacity: 1)
        let image = try DecodedImage(png: try plot.pngData())
        #expect(image.width == plot.width && image.height == plot.height)
        func color(at point: (x: Double, y: Double)) -> UInt32 { image.pixels[Int(point.y) * image.width + Int(point.x)] }
        for (index, panel) in panels.enumerated() {
            let area = plot.area(ofPanel: index)
            for i in panel.x.indices where panel.x[i].isFinite {
                let p = area.point(panel.x[i], panel.y[i])
                #expect(p.x > area.left && p.x < area.right && p.y > area.top && p.y < area.bottom)
                #expect(color(at: p) == pixel(ofCategory: panel.category[i]), "panel \(index), point \(i) at \(p)")
            }
        }
        // The first panel's points keep their order: x grows left to right, y bottom to top.
        let area = plot.area(ofPanel: 0)
        #expect(area.point(-3, 1).x < area.point(0, 5).x && area.point(0, 5).y < area.point(4, -2).y)
        // Nothing of the unused category 9 is drawn inside the plot, only in its legend.
        let inside = (Int(area.top)..<Int(area.bottom)).flatMap { y in (Int(area.left)..<Int(area.right)).map { image.pixels[y * image.width + $0] } }
        #expect(!inside.contains(pixel(ofCategory: 9)))
        #expect(panels[0].nonFiniteCount == 1 && panels[0].counts[3] == 1)
    }

    @Test("SVG has a circle per point and the legend's names")
    func svgHasVectorPoints() throws {
        let n = 50
        let panel = ScatterPlot.Panel(title: "PCA", categories: ["real", "generated"], x: (0..<n).map { Double($0) },
                                      y: (0..<n).map { sin(Double($0)) }, category: (0..<n).map { $0 % 2 })
        let svg = String(decoding: try ScatterPlot(panels: [panel]).svgData(), as: UTF8.self)
        #expect(svg.hasPrefix("<?xml"))
        #expect(svg.contains("<svg"))
        // Cairo writes text as glyph outlines, so check the drawing, not the words: a path per disc.
        #expect(svg.components(separatedBy: "<path").count - 1 >= n)
    }

    @Test("writes PNG and SVG files")
    func writesFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agon-scatter-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plot = ScatterPlot(panels: [ScatterPlot.Panel(title: "one point", categories: ["real"], x: [1], y: [1], category: [0])])
        try plot.writePNG(to: directory + "/plot.png")
        try plot.writeSVG(to: directory + "/plot.svg")
        let png = try #require(FileManager.default.contents(atPath: directory + "/plot.png"))
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        #expect(try DecodedImage(png: Array(png)).width == plot.width)
        #expect(FileManager.default.contents(atPath: directory + "/plot.svg").map { String(decoding: $0, as: UTF8.self).contains("<svg") } == true)
    }
}
