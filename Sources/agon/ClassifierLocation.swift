// Where the Fashion-MNIST classifier that ships with Agon is found when --classifier is not
// given: under $AGON_HOME, else in a folder above the executable (the repository, for a build in
// .build/), else in the current folder. AGON_HOME is the one environment variable agon reads.
import Foundation

/// The places the default classifier is looked for, in order.
struct ClassifierLocation {
    /// The classifier's path under a folder that holds Agon's data.
    static let relativePath = "models/fashion-mnist-classifier.safetensors"

    /// Every path looked at, in order.
    let candidates: [String]

    /// The places for this process: `$AGON_HOME/models/…` alone when AGON_HOME is set, else
    /// `models/…` in each folder above the executable's real path, then in the current folder.
    static func current() -> ClassifierLocation {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["AGON_HOME"], !home.isEmpty {
            return ClassifierLocation(candidates: [(home as NSString).appendingPathComponent(relativePath)])
        }
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var folder = (executable as NSString).deletingLastPathComponent
            while true {
                candidates.append((folder as NSString).appendingPathComponent(relativePath))
                let parent = (folder as NSString).deletingLastPathComponent
                if parent == folder || parent.isEmpty { break }
                folder = parent
            }
        }
        candidates.append((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(relativePath))
        return ClassifierLocation(candidates: candidates)
    }

    /// The first candidate that exists, if any.
    var found: String? {
        candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Why there is no classifier: every place looked at, and the ways out.
    var absence: String {
        "no classifier at \(candidates.joined(separator: ", ")); pass --classifier FILE, set AGON_HOME to the folder that holds "
            + "\(Self.relativePath), or train one with `agon classifier train`"
    }

    /// `explicit` when given, else the classifier found.
    ///
    /// - Throws: `RuntimeError` with ``absence`` when none is found.
    static func resolve(_ explicit: String?) throws -> String {
        if let explicit { return explicit }
        let location = current()
        guard let path = location.found else { throw RuntimeError(location.absence) }
        return path
    }
}
