// Rows of grayscale images, each row named on its left and each image optionally captioned:
// latent interpolations (one row per path) and nearest-neighbour comparisons (with distances).

import CCairo

/// Rows of grayscale images in [−1, 1] (as `ImageGrid` draws them), a label left of each row
/// and a caption under each image, on a white PNG canvas under a title.
///
/// Rows may have different lengths; every image has the same `height` × `width`, each pixel a
/// `scale` × `scale` square. NaN pixels are drawn in `ImageGrid.nanColor`.
public struct LabeledImageGrid: CairoFigure {
    /// One row: its label, its images one after another, and a caption per image ("" for none).
    public struct Row: Sendable {
        /// Drawn left of the row.
        public let label: String
        /// `count` images of height × width, row-major, values in [−1, 1].
        public let images: [Float]
        /// One per image; empty strings draw nothing.
        public let captions: [String]

        /// A row of `images`, `captions` under them (none by default).
        public init(label: String, images: [Float], captions: [String] = []) {
            self.label = label
            self.images = images
            self.captions = captions
        }
    }

    /// Drawn at the top left.
    public let title: String
    /// The rows, top to bottom.
    public let rows: [Row]
    /// Each image's height in pixels, before scaling.
    public let height: Int
    /// Each image's width in pixels, before scaling.
    public let width: Int
    /// The side of the square each image pixel becomes.
    public let scale: Int
    /// Optional headings over the columns ("" for none).
    public let columnHeadings: [String]

    /// A grid of `rows` of `height` × `width` images under `title`.
    ///
    /// - Precondition: every row holds a whole number of images, at least one, and no more
    ///   captions than images; positive sizes and scale.
    public init(title: String, rows: [Row], height: Int, width: Int, scale: Int = 2, columnHeadings: [String] = []) {
        precondition(height > 0 && width > 0 && scale > 0, "a labelled image grid needs positive sizes, got \(height)×\(width) at scale \(scale)")
        precondition(!rows.isEmpty, "a labelled image grid needs at least one row")
        for row in rows {
            precondition(!row.images.isEmpty && row.images.count % (height * width) == 0,
                         "row \(row.label): \(row.images.count) values are not whole \(height)×\(width) images")
            precondition(row.captions.count <= row.images.count / (height * width),
                         "row \(row.label): \(row.captions.count) captions for \(row.images.count / (height * width)) images")
        }
        self.title = title
        self.rows = rows
        self.height = height
        self.width = width
        self.scale = scale
        self.columnHeadings = columnHeadings
    }

    private static let labelWidth = 150
    private static let gap = 6
    private var hasCaptions: Bool { rows.contains { $0.captions.contains { !$0.isEmpty } } }
    private var columns: Int { rows.map { $0.images.count / (height * width) }.max() ?? 0 }
    private var headerHeight: Int { 40 + (columnHeadings.isEmpty ? 0 : 18) }
    private var rowHeight: Int { height * scale + Self.gap + (hasCaptions ? 16 : 0) }

    /// The canvas width in pixels.
    public var canvasWidth: Int { Self.labelWidth + columns * (width * scale + Self.gap) + Self.gap }
    /// The canvas height in pixels.
    public var canvasHeight: Int { headerHeight + rows.count * rowHeight + Self.gap }

    public func draw(on cr: OpaquePointer) throws {
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD)
        cairo_set_font_size(cr, 15)
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
        cairo_move_to(cr, 12, 26)
        cairo_show_text(cr, title)
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)

        let cell = width * scale + Self.gap
        cairo_set_font_size(cr, 11)
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3)
        for (column, heading) in columnHeadings.enumerated() where !heading.isEmpty {
            cairo_move_to(cr, Double(Self.labelWidth + column * cell), Double(headerHeight - 6))
            cairo_show_text(cr, heading)
        }

        let pixels = height * width
        for (index, row) in rows.enumerated() {
            let top = headerHeight + index * rowHeight
            cairo_set_font_size(cr, 12)
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15)
            cairo_move_to(cr, 10, Double(top + height * scale / 2 + 4))
            cairo_show_text(cr, row.label)
            for image in 0..<(row.images.count / pixels) {
                let left = Self.labelWidth + image * cell
                try drawImage(cr, Array(row.images[image * pixels ..< (image + 1) * pixels]), x: left, y: top)
                if image < row.captions.count, !row.captions[image].isEmpty {
                    cairo_set_font_size(cr, 10)
                    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3)
                    cairo_move_to(cr, Double(left), Double(top + height * scale + 12))
                    cairo_show_text(cr, row.captions[image])
                }
            }
        }
    }

    /// One image, its pixels on a small surface painted scaled without smoothing.
    private func drawImage(_ cr: OpaquePointer, _ values: [Float], x: Int, y: Int) throws {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw PlotError(.rendering, "cannot create a \(width)×\(height) image surface")
        }
        defer { cairo_surface_destroy(surface) }
        try ChartCanvas.check(cairo_surface_status(surface), .rendering, "cannot create a \(width)×\(height) image surface")
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else {
            throw PlotError(.rendering, "cannot reach the pixels of a \(width)×\(height) image surface")
        }
        let stride = Int(cairo_image_surface_get_stride(surface))
        let nan = UInt32(ImageGrid.nanColor.red) << 16 | UInt32(ImageGrid.nanColor.green) << 8 | UInt32(ImageGrid.nanColor.blue)
        for row in 0..<height {
            let line = UnsafeMutableRawPointer(data + row * stride).assumingMemoryBound(to: UInt32.self)
            for column in 0..<width {
                let value = values[row * width + column]
                if value.isNaN {
                    line[column] = nan
                } else {
                    let level = UInt32(UInt8(clamping: Int(((min(max(value, -1), 1) + 1) * 127.5).rounded())))
                    line[column] = level << 16 | level << 8 | level
                }
            }
        }
        cairo_surface_mark_dirty(surface)
        cairo_save(cr)
        cairo_translate(cr, Double(x), Double(y))
        cairo_scale(cr, Double(scale), Double(scale))
        cairo_set_source_surface(cr, surface, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST)
        cairo_paint(cr)
        cairo_restore(cr)
    }
}
