// PNG bytes read back through Cairo: for composing grids into a timeline, and for anyone who
// wants to check what a chart or grid drew.
import CCairo

/// An image decoded from PNG: its size and its pixels, 0xAARRGGBB, row-major.
public struct DecodedImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt32]

    /// Decodes `png`.
    ///
    /// - Throws: `PlotError(.rendering)` when the bytes are not a PNG Cairo can read.
    public init(png: [UInt8]) throws {
        guard let surface = cairoSurface(fromPNG: png) else {
            throw PlotError(.rendering, "cannot decode \(png.count) bytes as PNG")
        }
        defer { cairo_surface_destroy(surface) }
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        var pixels: [UInt32] = []
        pixels.reserveCapacity(width * height)
        if let data = cairo_image_surface_get_data(surface) {
            for y in 0..<height {
                let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                pixels += UnsafeBufferPointer(start: row, count: width)
            }
        }
        self.pixels = pixels
    }
}

/// A Cairo image surface from PNG bytes, or nil if they are not a PNG Cairo can read; the
/// caller destroys it.
func cairoSurface(fromPNG png: [UInt8]) -> OpaquePointer? {
    let source = PNGSource(png)
    let surface = withExtendedLifetime(source) {
        cairo_image_surface_create_from_png_stream(pngSourceRead, Unmanaged.passUnretained(source).toOpaque())
    }
    guard let surface, cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
        if let surface { cairo_surface_destroy(surface) }
        return nil
    }
    return surface
}

/// PNG bytes handed to Cairo's reader a piece at a time.
private final class PNGSource {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private func pngSourceRead(_ closure: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UInt8>?, _ length: UInt32) -> cairo_status_t {
    guard let closure, let data else { return CAIRO_STATUS_READ_ERROR }
    let source = Unmanaged<PNGSource>.fromOpaque(closure).takeUnretainedValue()
    let count = Int(length)
    guard source.offset + count <= source.bytes.count else { return CAIRO_STATUS_READ_ERROR }
    source.bytes.withUnsafeBufferPointer { data.update(from: $0.baseAddress! + source.offset, count: count) }
    source.offset += count
    return CAIRO_STATUS_SUCCESS
}
