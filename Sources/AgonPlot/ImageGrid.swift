// A grid of grayscale images (a GAN's samples, values in [−1, 1]) rendered with Cairo to PNG,
// in memory or to a file, or to SVG for pages that scale it.

import CCairo
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Grayscale images laid out in a grid, each pixel drawn as a `scale` × `scale` square.
///
/// Images are row-major, one after another, values in [−1, 1] (a tanh generator's range):
/// ```
/// byte = UInt8(clamping: Int(((v + 1) · 127.5).rounded()))    // −1 → 0 (black), +1 → 255
/// ```
/// Values outside [−1, 1] are clamped first; NaN is drawn in `nanColor`, so a diverged
/// generator shows at a glance. Cells are separated, and the grid framed, by `gap` pixels of
/// `gapColor`, which no grayscale pixel can take; cells past `count` are filled with it too.
public struct ImageGrid: Sendable {
    /// An 8-bit RGB color.
    public typealias Color = (red: UInt8, green: UInt8, blue: UInt8)

    /// The pixel values, `count` images of `height` × `width`, row-major.
    public let images: [Float]
    /// How many images there are.
    public let count: Int
    /// Each image's height in pixels, before scaling.
    public let height: Int
    /// Each image's width in pixels, before scaling.
    public let width: Int
    /// Images per row of the grid.
    public let columns: Int
    /// Rows of the grid: `count / columns`, rounded up.
    public let rows: Int
    /// The side of the square that each image pixel becomes.
    public let scale: Int

    /// Pixels between cells and around the grid.
    public static let gap = 2
    /// The color of the gaps and of empty cells: a dark blue, distinct from every gray.
    public static let gapColor: Color = (red: 40, green: 64, blue: 112)
    /// The color of NaN pixels.
    public static let nanColor: Color = (red: 255, green: 0, blue: 255)

    /// A grid of `count` images of `height` × `width` taken from `images`, `columns` to a row
    /// (by default ⌈√count⌉, so the grid is near square), each pixel scaled by `scale`.
    public init(images: [Float], count: Int, height: Int, width: Int, columns: Int? = nil, scale: Int = 2) {
        precondition(count > 0 && height > 0 && width > 0,
                     "an image grid needs at least one image of at least 1×1, got \(count) of \(height)×\(width)")
        precondition(images.count == count * height * width,
                     "\(images.count) values do not make \(count) images of \(height)×\(width)")
        precondition(scale > 0, "image grid scale must be positive, got \(scale)")
        let columns = columns ?? Int(Double(count).squareRoot().rounded(.up))
        precondition(columns > 0, "an image grid needs at least one column, got \(columns)")
        self.images = images
        self.count = count
        self.height = height
        self.width = width
        self.columns = columns
        self.rows = (count + columns - 1) / columns
        self.scale = scale
    }

    /// The rendered image's width in pixels: the cells, the gaps between them and the frame.
    public var pixelWidth: Int { columns * (width * scale + Self.gap) + Self.gap }

    /// The rendered image's height in pixels.
    public var pixelHeight: Int { rows * (height * scale + Self.gap) + Self.gap }

    /// The grid as PNG bytes.
    ///
    /// - Throws: `PlotError` if the picture exceeds Cairo's size limit or Cairo fails.
    public func pngData() throws -> [UInt8] {
        let surface = try renderSurface(for: "PNG in memory")
        defer { cairo_surface_destroy(surface) }
        return try ChartCanvas.pngData(of: surface, output: "in memory")
    }

    /// Writes the grid as a PNG file at `path`.
    ///
    /// The file is written beside `path` and renamed over it, so a viewer polling the file never
    /// sees half an image.
    /// - Throws: `PlotError` naming `path` if the file cannot be written, or rendering fails.
    public func writePNG(to path: String) throws {
        let surface = try renderSurface(for: path)
        defer { cairo_surface_destroy(surface) }
        try ChartCanvas.writePNG(surface, to: path)
    }

    /// The grid as an SVG document (the pixels embedded as an image, drawn without smoothing).
    ///
    /// - Throws: `PlotError` if the picture exceeds Cairo's size limit or Cairo fails.
    public func svgData() throws -> [UInt8] {
        let image = try renderSurface(for: "SVG in memory")
        defer { cairo_surface_destroy(image) }
        return try ChartCanvas.svg(width: pixelWidth, height: pixelHeight, output: "in memory") { context in
            cairo_set_source_surface(context, image, 0, 0)
            cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
            cairo_paint(context)
        }
    }

    /// Writes the grid as an SVG file at `path`, replacing it atomically as `writePNG` does.
    ///
    /// - Throws: `PlotError` naming `path` if the file cannot be written, or rendering fails.
    public func writeSVG(to path: String) throws {
        try ChartCanvas.write(try svgData(), to: path, kind: "SVG")
    }

    /// The grid drawn on a new RGB24 image surface, which the caller destroys.
    private func renderSurface(for output: String) throws -> OpaquePointer {
        let cellWidth = width.multipliedReportingOverflow(by: scale)
        let cellHeight = height.multipliedReportingOverflow(by: scale)
        let gap = Self.gap
        // Cairo's limit is 32767 on each side; check each factor first so nothing overflows.
        guard !cellWidth.overflow, !cellHeight.overflow, cellWidth.partialValue <= 32767,
              cellHeight.partialValue <= 32767, columns <= 32767, rows <= 32767,
              columns * (cellWidth.partialValue + gap) + gap <= 32767,
              rows * (cellHeight.partialValue + gap) + gap <= 32767
        else {
            throw PlotError(.imageTooLarge, "cannot render \(output): \(rows)×\(columns) cells of \(height)×\(width) at scale \(scale) exceed Cairo's 32767-pixel limit; lower the scale or the count")
        }
        let (cellW, cellH) = (cellWidth.partialValue, cellHeight.partialValue)

        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(pixelWidth), Int32(pixelHeight)) else {
            throw PlotError(.rendering, "cannot create a \(pixelWidth)×\(pixelHeight) image surface for \(output)")
        }
        do {
            try ChartCanvas.check(cairo_surface_status(surface), .rendering, "cannot create a \(pixelWidth)×\(pixelHeight) image surface for \(output)")
            cairo_surface_flush(surface)
            guard let data = cairo_image_surface_get_data(surface) else {
                throw PlotError(.rendering, "cannot reach the pixels of the image surface for \(output)")
            }
            let stride = Int(cairo_image_surface_get_stride(surface))
            // RGB24: one native-endian UInt32 per pixel, 0x00RRGGBB.
            func row(_ y: Int) -> UnsafeMutablePointer<UInt32> {
                UnsafeMutableRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            }
            let background = Self.pixel(Self.gapColor)
            for y in 0..<pixelHeight { row(y).update(repeating: background, count: pixelWidth) }

            let nan = Self.pixel(Self.nanColor)
            for image in 0..<count {
                let left = gap + (image % columns) * (cellW + gap)
                let top = gap + (image / columns) * (cellH + gap)
                for y in 0..<height {
                    let values = image * height * width + y * width
                    let line = row(top + y * scale) + left
                    for x in 0..<width {
                        let value = images[values + x]
                        let color = value.isNaN ? nan : Self.gray(value)
                        (line + x * scale).update(repeating: color, count: scale)
                    }
                    // The other lines of a scaled pixel row repeat the first.
                    for repeatLine in 1..<scale { (row(top + y * scale + repeatLine) + left).update(from: line, count: cellW) }
                }
            }
            cairo_surface_mark_dirty(surface)
            return surface
        } catch {
            cairo_surface_destroy(surface)
            throw error
        }
    }

    /// The RGB24 pixel for an RGB color.
    private static func pixel(_ color: Color) -> UInt32 {
        UInt32(color.red) << 16 | UInt32(color.green) << 8 | UInt32(color.blue)
    }

    /// The RGB24 gray for a value in [−1, 1]; values outside are clamped.
    private static func gray(_ value: Float) -> UInt32 {
        let clamped = min(max(value, -1), 1)
        let level = UInt32(UInt8(clamping: Int(((clamped + 1) * 127.5).rounded())))
        return level << 16 | level << 8 | level
    }
}
