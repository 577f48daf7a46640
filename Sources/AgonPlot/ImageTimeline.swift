// One picture of how samples change over training: PNG sample grids side by side, evenly
// picked over the run, each labelled with its step.
import CCairo
#if canImport(Glibc)
import Glibc
#endif

/// Sample grids from across a run laid out left to right, oldest first.
public struct ImageTimeline: Sendable {
    /// The grids drawn: at most `maximumFrames`, evenly spread over those given, first and last included.
    public let frames: [(label: String, png: [UInt8])]
    /// Each grid's side in the timeline, pixels.
    public let frameSize: Int

    /// Picks at most `maximumFrames` of `grids` (in order), evenly spaced.
    public init(grids: [(label: String, png: [UInt8])], maximumFrames: Int = 10, frameSize: Int = 200) {
        precondition(maximumFrames >= 2 && frameSize >= 16, "a timeline needs ≥ 2 frames of ≥ 16 px")
        if grids.count <= maximumFrames {
            frames = grids
        } else {
            frames = (0..<maximumFrames).map { grids[$0 * (grids.count - 1) / (maximumFrames - 1)] }
        }
        self.frameSize = frameSize
    }

    /// Writes the timeline as a PNG file; grids that are not valid PNG are drawn as empty frames.
    public func writePNG(to path: String) throws {
        let gap = 8, label = 22
        let width = max(1, frames.count) * (frameSize + gap) + gap
        let height = frameSize + label + 2 * gap
        try ChartCanvas.writePNG(width: width, height: height, to: path) { cr in
            cairo_set_source_rgb(cr, 1, 1, 1)
            cairo_paint(cr)
            cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
            cairo_set_font_size(cr, 13)
            for (index, frame) in frames.enumerated() {
                let x = Double(gap + index * (frameSize + gap)), y = Double(gap + label)
                cairo_set_source_rgb(cr, 0.2, 0.2, 0.2)
                cairo_move_to(cr, x, Double(gap) + 13)
                cairo_show_text(cr, frame.label)
                guard let image = cairoSurface(fromPNG: frame.png) else {
                    cairo_rectangle(cr, x, y, Double(frameSize), Double(frameSize))
                    cairo_stroke(cr)
                    continue
                }
                defer { cairo_surface_destroy(image) }
                let w = Double(cairo_image_surface_get_width(image)), h = Double(cairo_image_surface_get_height(image))
                let scale = Double(frameSize) / max(w, h)
                cairo_save(cr)
                cairo_translate(cr, x, y)
                cairo_scale(cr, scale, scale)
                cairo_set_source_surface(cr, image, 0, 0)
                cairo_paint(cr)
                cairo_restore(cr)
            }
        }
    }
}
