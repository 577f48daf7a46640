// A labelled set of grey-scale images (MNIST-style), loaded once from IDX files and handed out
// batch by batch as floats in [-1, 1], the range of the generator's tanh output.
import Foundation

/// Grey-scale images and their class labels, held as bytes.
///
/// Images are `count × height × width × 1` (NHWC, one channel), row-major; `labels[i]` is the
/// class of image `i`.
public struct ImageDataset: Sendable {
    /// Which half of a data set to read.
    public enum Split: String, Sendable, CaseIterable {
        /// The training images (`train-…` files; 60 000 in Fashion-MNIST).
        case train
        /// The held-out test images (`t10k-…` files; 10 000 in Fashion-MNIST).
        case test

        /// The prefix of this split's file names.
        var filePrefix: String {
            switch self {
            case .train: "train"
            case .test: "t10k"
            }
        }
    }

    /// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The pixels, `count × height × width` bytes, row-major; 0 is black, 255 white.
    public let images: [UInt8]
    /// The class of each image, `count` bytes.
    public let labels: [UInt8]
    /// The number of images.
    public let count: Int
    /// The height of every image, in pixels.
    public let height: Int
    /// The width of every image, in pixels.
    public let width: Int
    /// The number of classes: one more than the largest label (10 for Fashion-MNIST).
    public let classes: Int

    /// Wraps images and labels already in memory.
    ///
    /// - Precondition: `images.count == labels.count * height * width`.
    public init(images: [UInt8], labels: [UInt8], height: Int, width: Int) {
        precondition(height > 0 && width > 0, "ImageDataset: image size \(height)×\(width) must be positive")
        precondition(images.count == labels.count * height * width,
                     "ImageDataset: \(images.count) pixels do not make \(labels.count) images of \(height)×\(width)")
        self.images = images
        self.labels = labels
        self.count = labels.count
        self.height = height
        self.width = width
        self.classes = Int(labels.max() ?? 0) + (labels.isEmpty ? 0 : 1)
    }

    /// Reads one split from `directory`: `<prefix>-images-idx3-ubyte` and
    /// `<prefix>-labels-idx1-ubyte`, where the prefix is `train` or `t10k`; for each, the `.gz`
    /// name is read if it exists, else the uncompressed one.
    ///
    /// Throws `TrainingError`: `.missingFile` (naming the path, and the Debian package when
    /// `directory` is `defaultDirectory`), `.wrongRank` if the images are not 3-D or the labels
    /// not 1-D, `.countMismatch` if they disagree on the count, or any error of `IDXFile`.
    public static func load(directory: String = defaultDirectory, split: Split) throws -> ImageDataset {
        let imagePath = try locate("\(split.filePrefix)-images-idx3-ubyte", in: directory)
        let labelPath = try locate("\(split.filePrefix)-labels-idx1-ubyte", in: directory)
        let imageFile = try IDXFile(path: imagePath)
        let labelFile = try IDXFile(path: labelPath)
        guard imageFile.dimensions.count == 3 else {
            throw TrainingError(.wrongRank, path: imagePath,
                            "images have \(imageFile.dimensions.count) dimensions \(imageFile.dimensions), expected 3 (count, height, width)")
        }
        guard labelFile.dimensions.count == 1 else {
            throw TrainingError(.wrongRank, path: labelPath,
                            "labels have \(labelFile.dimensions.count) dimensions \(labelFile.dimensions), expected 1 (count)")
        }
        let imageCount = imageFile.dimensions[0], labelCount = labelFile.dimensions[0]
        guard imageCount == labelCount else {
            throw TrainingError(.countMismatch, path: labelPath,
                            "holds \(labelCount) labels but \(imagePath) holds \(imageCount) images; the files belong to different sets")
        }
        let height = imageFile.dimensions[1], width = imageFile.dimensions[2]
        guard height > 0, width > 0 else {
            throw TrainingError(.sizeMismatch, path: imagePath, "images are \(height)×\(width); both sides must be positive")
        }
        return ImageDataset(images: imageFile.data, labels: labelFile.data, height: height, width: width)
    }

    /// The images whose label is one of `classes`, in their original order, so that every
    /// process filtering the same set gets the same images and the same shards of them.
    ///
    /// The result is empty when no label is one of `classes`; callers that take the classes
    /// from a user check its `count`.
    public func filtered(classes: [Int]) -> ImageDataset {
        let wanted = Set(classes)
        let size = height * width
        var keptImages: [UInt8] = [], keptLabels: [UInt8] = []
        images.withUnsafeBufferPointer { pixels in
            for i in 0..<count where wanted.contains(Int(labels[i])) {
                keptLabels.append(labels[i])
                keptImages.append(contentsOf: pixels[i * size..<(i + 1) * size])
            }
        }
        return ImageDataset(images: keptImages, labels: keptLabels, height: height, width: width)
    }

    /// Whether every image's label is one of `classes`.
    public func holdsOnly(classes: [Int]) -> Bool {
        let wanted = Set(classes)
        return labels.allSatisfy { wanted.contains(Int($0)) }
    }

    /// The path of `name.gz` in `directory` if it exists, else that of `name`.
    private static func locate(_ name: String, in directory: String) throws -> String {
        let base = (directory as NSString).appendingPathComponent(name)
        let gzipped = base + ".gz"
        if FileManager.default.fileExists(atPath: gzipped) { return gzipped }
        if FileManager.default.fileExists(atPath: base) { return base }
        var detail = "no such file, nor \(base) uncompressed"
        let normalised = (directory as NSString).standardizingPath
        if normalised == (defaultDirectory as NSString).standardizingPath {
            detail += "; install Fashion-MNIST with `apt-get install dataset-fashion-mnist`"
        } else {
            detail += "; put the IDX files there or pass another directory"
        }
        throw TrainingError(.missingFile, path: gzipped, detail)
    }

    /// Writes the images at `indices`, one after another, as `height × width` floats each
    /// (NHWC with one channel), scaled from bytes to [-1, 1]:
    /// ```
    /// x = byte / 127.5 - 1
    /// ```
    /// `pointer` must have room for `indices.count * height * width` floats.
    ///
    /// - Precondition: every index is in `0..<count`.
    public func fillImages(indices: some Collection<Int>, into pointer: UnsafeMutablePointer<Float>) {
        let size = height * width
        images.withUnsafeBufferPointer { pixels in
            var out = pointer
            for index in indices {
                precondition(index >= 0 && index < count, "ImageDataset.fillImages: index \(index) not in 0..<\(count)")
                let image = pixels.baseAddress! + index * size
                for p in 0..<size {
                    out[p] = Float(image[p]) / 127.5 - 1
                }
                out += size
            }
        }
    }

    /// The labels of the images at `indices`, in the same order.
    ///
    /// - Precondition: every index is in `0..<count`.
    public func labels(at indices: some Collection<Int>) -> [Int] {
        indices.map { index in
            precondition(index >= 0 && index < count, "ImageDataset.labels(at:): index \(index) not in 0..<\(count)")
            return Int(labels[index])
        }
    }
}
