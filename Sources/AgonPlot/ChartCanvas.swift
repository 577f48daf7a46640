// Where charts are drawn: one drawing routine rendered through Cairo to PNG or SVG, in memory
// or to a file replaced atomically. Charts supply the drawing; this file knows the outputs.

import CCairo
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A figure drawn with Cairo: charts, scatter plots, labelled grids. Each supplies its size
/// and drawing; PNG and SVG output, in memory or to files replaced atomically (so a viewer
/// polling the file never sees half a figure), come from the extension below.
public protocol CairoFigure: Sendable {
    /// The canvas width in pixels (points, for SVG).
    var canvasWidth: Int { get }
    /// The canvas height in pixels (points, for SVG).
    var canvasHeight: Int { get }
    /// Draws the figure on a Cairo context (`cairo_t *`) of that size, leaving its status clean.
    func draw(on context: OpaquePointer) throws
}

extension CairoFigure {
    /// The figure as PNG bytes.
    ///
    /// - Throws: `PlotError` if the canvas exceeds Cairo's size limit or Cairo fails.
    public func pngData() throws -> [UInt8] {
        try ChartCanvas.png(width: canvasWidth, height: canvasHeight, output: "in memory", draw: draw(on:))
    }

    /// Writes the figure as a PNG file at `path`, replacing it atomically.
    ///
    /// - Throws: `PlotError` naming `path` if the file cannot be written, or rendering fails.
    public func writePNG(to path: String) throws {
        try ChartCanvas.writePNG(width: canvasWidth, height: canvasHeight, to: path, draw: draw(on:))
    }

    /// The figure as an SVG document, drawn as vectors.
    ///
    /// - Throws: `PlotError` if the canvas exceeds Cairo's size limit or Cairo fails.
    public func svgData() throws -> [UInt8] {
        try ChartCanvas.svg(width: canvasWidth, height: canvasHeight, output: "in memory", draw: draw(on:))
    }

    /// Writes the figure as an SVG file at `path`, replacing it atomically.
    ///
    /// - Throws: `PlotError` naming `path` if the file cannot be written, or rendering fails.
    public func writeSVG(to path: String) throws {
        try ChartCanvas.writeSVG(width: canvasWidth, height: canvasHeight, to: path, draw: draw(on:))
    }
}

/// Renders a chart's drawing routine to PNG or SVG bytes or files.
///
/// The routine receives a Cairo context (`cairo_t *`) for a `width` × `height` canvas in
/// pixels (points, for SVG) and must leave the context's status clean; a failed status is
/// thrown as `PlotError`.
enum ChartCanvas {
    typealias Draw = (OpaquePointer) throws -> Void

    /// PNG bytes of a `width` × `height` ARGB32 image.
    static func png(width: Int, height: Int, output: String, draw: Draw) throws -> [UInt8] {
        let surface = try imageSurface(width: width, height: height, output: output, draw: draw)
        defer { cairo_surface_destroy(surface) }
        return try pngData(of: surface, output: output)
    }

    /// Writes a PNG file at `path`, replacing it atomically.
    static func writePNG(width: Int, height: Int, to path: String, draw: Draw) throws {
        let surface = try imageSurface(width: width, height: height, output: path, draw: draw)
        defer { cairo_surface_destroy(surface) }
        try writePNG(surface, to: path)
    }

    /// PNG bytes of an image surface.
    static func pngData(of surface: OpaquePointer, output: String) throws -> [UInt8] {
        let sink = CanvasSink()
        let status = withExtendedLifetime(sink) {
            cairo_surface_write_to_png_stream(surface, canvasSinkWrite, Unmanaged.passUnretained(sink).toOpaque())
        }
        try check(status, .rendering, "cannot encode PNG \(output)")
        return sink.bytes
    }

    /// Writes an image surface as a PNG file at `path`, replacing it atomically.
    static func writePNG(_ surface: OpaquePointer, to path: String) throws {
        try replaceAtomically(path) { temporary in
            try check(cairo_surface_write_to_png(surface, temporary), .write, "cannot write PNG \(path)")
        }
    }

    /// An SVG document of `width` × `height` points, drawn as vectors.
    static func svg(width: Int, height: Int, output: String, draw: Draw) throws -> [UInt8] {
        try checkSize(width: width, height: height, output: output)
        let sink = CanvasSink()
        try withExtendedLifetime(sink) {
            guard let surface = cairo_svg_surface_create_for_stream(
                canvasSinkWrite, Unmanaged.passUnretained(sink).toOpaque(), Double(width), Double(height)) else {
                throw PlotError(.rendering, "cannot create SVG surface \(output)")
            }
            defer { cairo_surface_destroy(surface) }
            try check(cairo_surface_status(surface), .rendering, "cannot create SVG surface \(output)")
            try drawOn(surface, output: output, draw: draw)
            cairo_surface_finish(surface)
            try check(cairo_surface_status(surface), .rendering, "cannot encode SVG \(output)")
        }
        return sink.bytes
    }

    /// Writes an SVG file at `path`, replacing it atomically.
    static func writeSVG(width: Int, height: Int, to path: String, draw: Draw) throws {
        try write(try svg(width: width, height: height, output: path, draw: draw), to: path, kind: "SVG")
    }

    /// Writes `bytes` (a `kind` document) at `path`, replacing it atomically.
    static func write(_ bytes: [UInt8], to path: String, kind: String) throws {
        try replaceAtomically(path) { temporary in
            guard let file = fopen(temporary, "wb") else {
                throw PlotError(.write, "cannot create \(temporary) to write \(kind) \(path)", posixCode: errno)
            }
            let written = fwrite(bytes, 1, bytes.count, file)
            let closed = fclose(file)
            guard written == bytes.count, closed == 0 else {
                throw PlotError(.write, "cannot write \(kind) \(path)", posixCode: errno)
            }
        }
    }

    /// A new ARGB32 image surface with the drawing on it; the caller destroys it.
    private static func imageSurface(width: Int, height: Int, output: String, draw: Draw) throws -> OpaquePointer {
        try checkSize(width: width, height: height, output: output)
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)) else {
            throw PlotError(.rendering, "cannot create a \(width)×\(height) image surface for \(output)")
        }
        do {
            try check(cairo_surface_status(surface), .rendering, "cannot create a \(width)×\(height) image surface for \(output)")
            try drawOn(surface, output: output, draw: draw)
            cairo_surface_flush(surface)
            return surface
        } catch {
            cairo_surface_destroy(surface)
            throw error
        }
    }

    private static func drawOn(_ surface: OpaquePointer, output: String, draw: Draw) throws {
        guard let context = cairo_create(surface) else {
            throw PlotError(.rendering, "cannot create a drawing context for \(output)")
        }
        defer { cairo_destroy(context) }
        try draw(context)
        try check(cairo_status(context), .rendering, "cannot draw \(output)")
    }

    private static func checkSize(width: Int, height: Int, output: String) throws {
        guard width <= 32767, height <= 32767 else {
            throw PlotError(.imageTooLarge, "cannot render \(output): \(width)×\(height) exceeds Cairo's 32767-pixel limit; make the chart smaller")
        }
    }

    /// Throws `code` with `message` and Cairo's status text unless `status` is success.
    static func check(_ status: cairo_status_t, _ code: PlotError.Code, _ message: String) throws {
        guard status != CAIRO_STATUS_SUCCESS else { return }
        throw PlotError(code, "\(message): \(String(cString: cairo_status_to_string(status)))")
    }

    /// Runs `write` on a temporary path beside `path`, then renames it over `path`, so that a
    /// viewer polling the file never sees half a chart. No fsync: a chart is redrawn if lost.
    static func replaceAtomically(_ path: String, _ write: (String) throws -> Void) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try write(temporary)
            guard rename(temporary, path) == 0 else {
                throw PlotError(.write, "cannot move \(temporary) over \(path)", posixCode: errno)
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}

/// Collects what Cairo streams out.
private final class CanvasSink {
    var bytes: [UInt8] = []
}

/// Cairo's write callback: appends to the `CanvasSink` passed as the closure pointer.
private func canvasSinkWrite(_ closure: UnsafeMutableRawPointer?, _ data: UnsafePointer<UInt8>?, _ length: UInt32) -> cairo_status_t {
    guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
    let sink = Unmanaged<CanvasSink>.fromOpaque(closure).takeUnretainedValue()
    if let data { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length))) }
    return CAIRO_STATUS_SUCCESS
}
