// The one oneDNN CPU engine and stream a process computes on, and the checks on oneDNN calls.
import CDNNL
import Glibc

/// oneDNN's CPU engine and its in-order stream.
///
/// Build one per process and hand it to every layer: primitives are created against it once
/// per shape and executed on its stream every step.
public final class Engine: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    /// Creates the CPU engine and stream, computing on `threads` OpenMP threads.
    ///
    /// libgomp reads `OMP_NUM_THREADS` when it loads, before any Swift code runs, so the count
    /// is set through `omp_set_num_threads`, found in the already-loaded libgomp at run time.
    public init(threads: Int = 1) {
        precondition(threads >= 1, "thread count must be at least 1, got \(threads)")
        if let symbol = dlsym(nil, "omp_set_num_threads") {
            typealias SetThreads = @convention(c) (Int32) -> Void
            unsafeBitCast(symbol, to: SetThreads.self)(Int32(threads))
        }
        var engine: dnnl_engine_t?
        DNNL.check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        var stream: dnnl_stream_t?
        DNNL.check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        self.engine = engine!
        self.stream = stream!
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }
}

/// Helpers over oneDNN's C API; every oneDNN call in Agon lives in this target.
enum DNNL {
    // Argument indices from dnnl_types.h (macros that Swift does not import).
    static let src: Int32 = 1
    static let dst: Int32 = 17
    static let weights: Int32 = 33
    static let bias: Int32 = 41
    static let mean: Int32 = 49
    static let variance: Int32 = 50
    static let scale: Int32 = 51
    static let shift: Int32 = 52
    static let workspace: Int32 = 64
    static let diffSrc: Int32 = 129
    static let diffDst: Int32 = 145
    static let diffWeights: Int32 = 161
    static let diffBias: Int32 = 169
    static let diffScale: Int32 = 255
    static let diffShift: Int32 = 256
    static let from: Int32 = 1
    static let to: Int32 = 17

    /// A failed oneDNN call is a programming error (a shape or format oneDNN cannot do), so it
    /// stops with the call and the status named.
    static func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN \(call()) failed with status \(status.rawValue)")
    }

    /// A plain memory descriptor: `dims` in oneDNN's logical order, laid out as `tag`.
    static func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, dnnl_f32, tag), "memory_desc_init \(dims)")
        return md
    }

    /// A memory descriptor with explicit strides, for layouts no tag names.
    static func memoryDesc(_ dims: [Int], strides: [Int]) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init), s = strides.map(Int64.init)
        check(dnnl_memory_desc_init_by_strides(&md, Int32(d.count), d, dnnl_f32, s), "memory_desc_init \(dims) \(strides)")
        return md
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    static func size(_ md: dnnl_memory_desc_t) -> Int {
        var md = md
        return dnnl_memory_desc_get_size(&md)
    }

    static func implementation(_ pd: dnnl_primitive_desc_t) -> String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "" }
        return String(cString: name)
    }

    static func query(_ pd: dnnl_primitive_desc_t, _ what: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        guard let md = dnnl_primitive_desc_query_md(pd, what, index) else {
            preconditionFailure("oneDNN primitive has no memory descriptor for query \(what.rawValue)")
        }
        return md.pointee
    }
}

/// A created primitive with its memory objects, executed by swapping data handles.
///
/// Memory objects are made once with no data; `execute` points them at the caller's buffers
/// for this call. That is what lets a primitive made once per batch size run every step.
final class Primitive {
    private let engine: Engine
    private let primitive: dnnl_primitive_t
    let descriptor: dnnl_primitive_desc_t
    private var args: [dnnl_exec_arg_t] = []
    private var slots: [Int32: Int] = [:]

    /// Creates the primitive for `descriptor`, taking ownership of it.
    init(_ engine: Engine, descriptor: dnnl_primitive_desc_t) {
        self.engine = engine
        self.descriptor = descriptor
        var p: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&p, descriptor), "dnnl_primitive_create")
        primitive = p!
    }

    /// Builds the primitive descriptor for an op descriptor (with attributes and a forward hint)
    /// and creates it.
    convenience init(_ engine: Engine, op: UnsafeRawPointer, attributes: dnnl_primitive_attr_t? = nil, hint: Primitive? = nil) {
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_primitive_desc_create(&pd, op, attributes, engine.engine, hint?.descriptor),
                   "dnnl_primitive_desc_create")
        self.init(engine, descriptor: pd!)
    }

    /// Creates the first implementation whose name satisfies `preferred` (oneDNN lists them
    /// fastest-first for typical shapes), or oneDNN's own first choice when none does.
    convenience init(_ engine: Engine, op: UnsafeRawPointer, hint: Primitive? = nil, preferring preferred: (String) -> Bool) {
        var iterator: dnnl_primitive_desc_iterator_t?
        DNNL.check(dnnl_primitive_desc_iterator_create(&iterator, op, nil, engine.engine, hint?.descriptor),
                   "dnnl_primitive_desc_iterator_create")
        defer { dnnl_primitive_desc_iterator_destroy(iterator) }
        var chosen: dnnl_primitive_desc_t?
        repeat {
            let candidate = dnnl_primitive_desc_iterator_fetch(iterator)!
            if preferred(DNNL.implementation(candidate)) {
                chosen = candidate
                break
            }
            dnnl_primitive_desc_destroy(candidate)
        } while dnnl_primitive_desc_iterator_next(iterator) == dnnl_success
        guard let chosen else {
            self.init(engine, op: op, hint: hint)
            return
        }
        self.init(engine, descriptor: chosen)
    }

    /// The name of the implementation oneDNN chose (`brgconv:avx512_core`, `gemm:jit`, …).
    var implementation: String { DNNL.implementation(descriptor) }

    deinit {
        for a in args { dnnl_memory_destroy(a.memory) }
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The memory descriptor the primitive chose for a query (`dnnl_query_weights_md`, …).
    func memoryDesc(_ what: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        DNNL.query(descriptor, what, index)
    }

    /// Declares argument `arg` with layout `md`; call once per argument before `execute`.
    func bind(_ arg: Int32, _ md: dnnl_memory_desc_t) {
        var md = md
        var memory: dnnl_memory_t?
        DNNL.check(dnnl_memory_create(&memory, &md, engine.engine, nil), "dnnl_memory_create")
        slots[arg] = args.count
        args.append(dnnl_exec_arg_t(arg: arg, memory: memory))
    }

    /// Declares the scratch/workspace argument the primitive asks for, if any, and allocates it.
    func bindWorkspaceIfNeeded() -> TensorStorage? {
        let md = memoryDesc(dnnl_query_workspace_md)
        let bytes = DNNL.size(md)
        guard bytes > 0 else { return nil }
        bind(DNNL.workspace, md)
        return TensorStorage(capacity: (bytes + 3) / 4)
    }

    /// Runs the primitive with each declared argument pointed at the given buffer, and waits.
    func execute(_ buffers: [(Int32, UnsafeMutableRawPointer)]) {
        for (arg, pointer) in buffers {
            guard let slot = slots[arg] else { preconditionFailure("argument \(arg) was never bound") }
            DNNL.check(dnnl_memory_set_data_handle(args[slot].memory, pointer), "set_data_handle")
        }
        DNNL.check(dnnl_primitive_execute(primitive, engine.stream, Int32(args.count), args), "dnnl_primitive_execute")
        DNNL.check(dnnl_stream_wait(engine.stream), "dnnl_stream_wait")
    }
}

/// A reorder between two layouts of the same logical tensor (Keras weights to oneDNN's blocked
/// format and back).
final class Reorder {
    private let primitive: Primitive
    let destinationBytes: Int

    init(_ engine: Engine, from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) {
        var s = source, d = destination
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &s, engine.engine, &d, engine.engine, nil),
                   "dnnl_reorder_primitive_desc_create")
        primitive = Primitive(engine, descriptor: pd!)
        primitive.bind(DNNL.from, source)
        primitive.bind(DNNL.to, destination)
        destinationBytes = DNNL.size(destination)
    }

    func run(from: UnsafeMutableRawPointer, to: UnsafeMutableRawPointer) {
        primitive.execute([(DNNL.from, from), (DNNL.to, to)])
    }
}
