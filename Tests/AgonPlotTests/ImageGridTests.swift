// ImageGrid: the PNG it makes, decoded back with Cairo, has the laid-out size and the expected
// pixels; files are written whole, and unwritable paths give a PlotError.

import AgonPlot
import CCairo
import Foundation
import Testing

/// A decoded RGB image.
private struct Picture {
    var width: Int
    var height: Int
    var pixels: [UInt32]  // 0x00RRGGBB, row-major

    func color(x: Int, y: Int) -> ImageGrid.Color {
        let pixel = pixels[y * width + x]
        return (UInt8(truncatingIfNeeded: pixel >> 16), UInt8(truncatingIfNeeded: pixel >> 8), UInt8(truncatingIfNeeded: pixel))
    }

    func gray(x: Int, y: Int) -> UInt8? {
        let color = color(x: x, y: y)
        return color.red == color.green && color.green == color.blue ? color.red : nil
    }
}

/// Reads PNG bytes back through AgonPlot's decoder, alpha dropped.
private func decodePNG(_ bytes: [UInt8]) throws -> Picture {
    let image = try DecodedImage(png: bytes)
    return Picture(width: image.width, height: image.height, pixels: image.pixels.map { $0 & 0xFF_FFFF })
}

private func sameColor(_ a: ImageGrid.Color, _ b: ImageGrid.Color) -> Bool {
    a.red == b.red && a.green == b.green && a.blue == b.blue
}

/// A fresh empty directory under the system temporary directory.
private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "agon-imagegrid-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct ImageGridTests {
    /// Three 2×3 images: all −1, all +1, then one with 0, out-of-range values and a NaN.
    let grid = ImageGrid(
        images: Array(repeating: -1, count: 6) + Array(repeating: 1, count: 6) + [0, 0.5, -0.5, 7, -7, .nan],
        count: 3, height: 2, width: 3, scale: 2)

    @Test func pngStartsWithTheSignature() throws {
        #expect(Array(try grid.pngData().prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    @Test func layoutHasTheExpectedSizeAndPixels() throws {
        #expect(grid.columns == 2 && grid.rows == 2)
        let picture = try decodePNG(try grid.pngData())
        let gap = ImageGrid.gap
        // 2 columns of 3·2 pixels and 2 rows of 2·2, with gaps between and around.
        #expect(picture.width == 2 * 6 + 3 * gap)
        #expect(picture.height == 2 * 4 + 3 * gap)

        #expect(sameColor(picture.color(x: 0, y: 0), ImageGrid.gapColor))
        // Image 0 (all −1) is black over its whole scaled cell.
        #expect(picture.gray(x: gap, y: gap) == 0)
        #expect(picture.gray(x: gap + 5, y: gap + 3) == 0)
        #expect(sameColor(picture.color(x: gap + 6, y: gap), ImageGrid.gapColor))
        // Image 1 (all +1) is white.
        let second = 2 * gap + 6
        #expect(picture.gray(x: second, y: gap) == 255)
        #expect(picture.gray(x: second + 5, y: gap + 3) == 255)
        // Image 2 on the second row: 0 → 128, 0.5 → 191, −0.5 → 64, 7 → 255, −7 → 0, NaN marked.
        let top = 2 * gap + 4
        #expect(picture.gray(x: gap, y: top) == 128)
        #expect(picture.gray(x: gap + 1, y: top + 1) == 128)
        #expect(picture.gray(x: gap + 2, y: top) == 191)
        #expect(picture.gray(x: gap + 4, y: top) == 64)
        #expect(picture.gray(x: gap, y: top + 2) == 255)
        #expect(picture.gray(x: gap + 2, y: top + 3) == 0)
        #expect(sameColor(picture.color(x: gap + 5, y: top + 3), ImageGrid.nanColor))
        // The fourth cell is empty.
        #expect(sameColor(picture.color(x: second + 1, y: top + 1), ImageGrid.gapColor))
    }

    @Test func columnsAndScaleAreHonored() throws {
        let row = ImageGrid(images: [Float](repeating: 1, count: 4), count: 4, height: 1, width: 1, columns: 4, scale: 3)
        let picture = try decodePNG(try row.pngData())
        #expect(picture.width == 4 * 3 + 5 * ImageGrid.gap)
        #expect(picture.height == 3 + 2 * ImageGrid.gap)
    }

    @Test func writePNGWritesTheSameBytesAndNoTemporaryFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/samples.png"
        try grid.writePNG(to: path)
        try grid.writePNG(to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["samples.png"])
        let written = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let decoded = try decodePNG(written)
        #expect(decoded.pixels == (try decodePNG(try grid.pngData())).pixels)
    }

    @Test func svgIsAnSVGDocument() throws {
        let text = String(decoding: try grid.svgData(), as: UTF8.self)
        #expect(text.hasPrefix("<?xml"))
        #expect(text.contains("<svg"))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try grid.writeSVG(to: directory + "/samples.svg")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["samples.svg"])
    }

    @Test func unwritablePathThrowsAPlotErrorNamingIt() throws {
        let path = "/nonexistent-agon-dir/x.png"
        let error = try #require(throws: PlotError.self) { try grid.writePNG(to: path) }
        #expect(error.code == .write)
        #expect(error.description.contains(path))
        let svgError = try #require(throws: PlotError.self) { try grid.writeSVG(to: "/nonexistent-agon-dir/x.svg") }
        #expect(svgError.code == .write)
    }

    @Test func oversizedGridThrowsInsteadOfCrashing() throws {
        let wide = ImageGrid(images: [0, 0], count: 1, height: 1, width: 2, scale: 20000)
        let error = try #require(throws: PlotError.self) { try wide.pngData() }
        #expect(error.code == .imageTooLarge)
    }
}
