// The Float32 n-d array every layer reads and writes: row-major storage, NHWC for images.

/// Storage for a tensor: one 64-byte-aligned block of Float32, freed with the last reference.
public final class TensorStorage: @unchecked Sendable {
    /// The first element.
    public let pointer: UnsafeMutablePointer<Float>
    /// How many Float32 values the block holds.
    public let capacity: Int

    /// Allocates `capacity` zeroed values.
    public init(capacity: Int) {
        precondition(capacity >= 0, "tensor capacity must not be negative, got \(capacity)")
        let bytes = max(capacity, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
        self.capacity = capacity
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// A row-major Float32 array: a shape over shared storage.
///
/// A `Tensor` is a view: copies share their storage, and writes through `pointer` are seen by
/// every view. Layers allocate their tensors once per batch size and reuse them every step, so
/// no step allocates.
public struct Tensor: @unchecked Sendable {
    /// The extent of each dimension, outermost first.
    public let shape: [Int]
    /// The storage this view reads and writes.
    public let storage: TensorStorage
    /// The number of elements, the product of `shape`.
    public let count: Int

    /// A zero-filled tensor of `shape`.
    public init(zeros shape: [Int]) {
        let count = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.count = count
        self.storage = TensorStorage(capacity: count)
    }

    /// A tensor of `shape` holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) {
        self.init(zeros: shape)
        precondition(values.count == count, "\(values.count) values do not fill shape \(shape)")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor of `shape` with every element equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        pointer.update(repeating: value, count: count)
    }

    private init(shape: [Int], storage: TensorStorage) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = storage
    }

    /// The first element.
    @inline(__always) public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// The elements in row-major order, copied out.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The leading dimension (the batch for activations).
    public var rows: Int { shape.first ?? 1 }

    /// Elements per leading index: `count / rows`.
    public var rowLength: Int { shape.count <= 1 ? 1 : shape.dropFirst().reduce(1, *) }

    /// The same storage seen with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, storage: storage)
    }

    /// Element `i` in row-major order.
    @inline(__always) public subscript(i: Int) -> Float {
        get { pointer[i] }
        nonmutating set { pointer[i] = newValue }
    }

    /// Copies every element of `source`, which must have the same element count.
    public func copy(from source: Tensor) {
        precondition(source.count == count, "copy from \(source.shape) into \(shape)")
        pointer.update(from: source.pointer, count: count)
    }

    /// Copies `count` elements from `source`.
    public func copy(from source: UnsafePointer<Float>) {
        pointer.update(from: source, count: count)
    }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// A new tensor with its own storage and the same values.
    public func clone() -> Tensor {
        let copy = Tensor(zeros: shape)
        copy.copy(from: self)
        return copy
    }
}
