// The set of CURVE public keys a ZAPHandler admits, read from a folder of key files
// (one worker's public key per file, as `Curve.writeKeyFile` writes them).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CURVE public keys admitted by a `ZAPHandler`, as Z85 text, and what went wrong reading
/// them.
///
/// `load(directory:)` reads every regular file of a folder as one key. A file that cannot be
/// read or holds no key is skipped, not fatal: one bad file should not lock every worker out.
/// Each skip is described in `problems`, for the caller to log; an unreadable folder throws.
public struct AuthorizedKeys: Sendable, Equatable {
    /// The admitted public keys, 40 Z85 characters each.
    public var keys: Set<String>
    /// One line per file skipped, naming the file and what was wrong.
    public var problems: [String]

    /// A set of `keys` (validated when given to a `ZAPHandler`) and `problems` to report.
    public init(keys: Set<String> = [], problems: [String] = []) {
        self.keys = keys
        self.problems = problems
    }

    /// Reads every file in `directory` as a public key file.
    ///
    /// Names starting with `.` and subfolders are passed over silently; symbolic links are
    /// followed. Files are read in name order, so `problems` is in a stable order.
    ///
    /// - Throws: `WireError` with code `.io` naming the folder if it cannot be listed.
    public static func load(directory: String) throws(WireError) -> AuthorizedKeys {
        guard let stream = opendir(directory) else { throw WireError.io(directory, errno: errno) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(stream)

        var result = AuthorizedKeys()
        let folder = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names.sorted() {
            let path = folder + name
            var status = stat()
            guard stat(path, &status) == 0 else {
                result.problems.append(WireError.io(path, errno: errno).message)
                continue
            }
            let type = status.st_mode & S_IFMT
            if type == S_IFDIR { continue }
            guard type == S_IFREG else {
                result.problems.append("\(path): not a regular file")
                continue
            }
            do {
                result.keys.insert(try Curve.readKeyFile(at: path))
            } catch {
                result.problems.append(error.message)
            }
        }
        return result
    }
}
