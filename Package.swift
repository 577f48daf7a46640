// swift-tools-version:6.0
// Agon: data-parallel GAN training over ZeroMQ, and a live view of what the training does.
import PackageDescription

let package = Package(
    name: "Agon",
    products: [
        .executable(name: "agon", targets: ["agon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Only the executable logs through it: the library targets take a plain `log:` closure.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System libraries (module maps in Sources/C*).
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib"),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo"),
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),   // no pkgConfig: its .pc emits -isystem
        .systemLibrary(name: "CSQLite3", path: "Sources/CSQLite3", pkgConfig: "sqlite3"),
        .systemLibrary(name: "CLAPACKE", path: "Sources/CLAPACKE", pkgConfig: "lapacke"),

        // The numerical core: tensors on oneDNN, then layers, then the GAN.
        // Elementwise loops in C, where the compiler vectorises sqrt, division and selects.
        .target(name: "CAgonKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fveclib=libmvec"])],
                linkerSettings: [.linkedLibrary("mvec"), .linkedLibrary("m")]),
        .target(name: "AgonTensor", dependencies: ["CDNNL", "CAgonKernels"]),
        .target(name: "AgonNN", dependencies: ["AgonTensor"]),
        .target(name: "AgonTraining", dependencies: ["AgonNN", "AgonTensor", "CZlib"]),
        .target(name: "AgonPlot", dependencies: ["CCairo"]),
        // The one place that knows ZeroMQ, message layouts and the shared-memory lane.
        .target(name: "AgonWire", dependencies: ["CZeroMQ", "CAgonKernels"]),

        // The roles.
        .target(name: "AgonCoordinator", dependencies: ["AgonTraining", "AgonNN", "AgonTensor", "AgonWire"]),
        .target(name: "AgonWorker", dependencies: ["AgonTraining", "AgonNN", "AgonTensor", "AgonWire"]),

        // What a run leaves: the SQLite store, and the aggregator that fills it and draws it.
        .target(name: "AgonRunStore", dependencies: ["CSQLite3"]),
        // Sample quality: features, FID and friends, embeddings.
        .target(name: "AgonAnalysis", dependencies: ["AgonNN", "AgonTensor", "CLAPACKE"]),
        .target(name: "AgonAggregator", dependencies: ["AgonRunStore", "AgonPlot", "AgonWire", "CZlib"]),

        .executableTarget(name: "agon", dependencies: [
            "AgonTraining", "AgonNN", "AgonTensor", "AgonPlot", "AgonWire", "AgonCoordinator", "AgonWorker", "CAgonKernels",
            "AgonAggregator", "AgonAnalysis",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "AgonTensorTests", dependencies: ["AgonTensor"]),
        .testTarget(name: "AgonNNTests", dependencies: ["AgonNN", "AgonTensor"]),
        .testTarget(name: "AgonTrainingTests", dependencies: ["AgonTraining", "AgonNN", "AgonTensor"]),
        .testTarget(name: "AgonPlotTests", dependencies: ["AgonPlot"]),
        .testTarget(name: "AgonWireTests", dependencies: ["AgonWire"]),
        .testTarget(name: "AgonRunStoreTests", dependencies: ["AgonRunStore"]),
        .testTarget(name: "AgonAnalysisTests", dependencies: ["AgonAnalysis", "AgonNN", "AgonTensor", "AgonTraining"]),
        .testTarget(name: "AgonAggregatorTests", dependencies: ["AgonAggregator", "AgonRunStore", "AgonPlot", "AgonWire", "CSQLite3"]),
        .testTarget(name: "EndToEndTests", dependencies: ["AgonNN", "AgonTensor"]),
    ]
)
