// The run folder checked before the first step: made if missing, and each folder a role writes
// into tried with a real write, so that an unwritable `checkpoints/` fails now, not minutes in.
import Foundation

enum RunFolder {
    /// Moves an existing run folder to `DIR.restarted-YYYYMMDD-HHMMSS`, so that a run started
    /// afresh (`--restart`) finds none of the earlier run's files: no checkpoint to resume,
    /// no events to supersede.
    static func moveAside(_ directory: String, by command: String) throws {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let trimmed = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let aside = trimmed + ".restarted-" + formatter.string(from: Date())
        do {
            try FileManager.default.moveItem(atPath: trimmed, toPath: aside)
        } catch {
            throw RuntimeError("\(trimmed): cannot move the earlier run aside to \(aside) for --restart: \(oneLineDescription(of: error))")
        }
        logLine("\(command): --restart: the earlier run's files are now in \(aside)")
    }

    /// Makes `directory` and its `subfolders` (`checkpoints`, `samples`, …) where missing and
    /// writes and removes a small file in each.
    ///
    /// - Throws: `RuntimeError`, one line naming the folder and what is wrong with it (a file in
    ///   its way, a read-only file system, no permission, a full disk).
    static func prepare(_ directory: String, subfolders: [String] = []) throws {
        for folder in [directory] + subfolders.map({ directory + "/" + $0 }) {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), !isFolder.boolValue {
                throw RuntimeError("\(folder): is a file, not a folder; move it away or choose another --run-dir")
            }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw RuntimeError("\(folder): cannot make the folder: \(oneLineDescription(of: error))")
            }
            try checkWritable(folder)
        }
    }

    /// Creates and removes `folder/.agon-write-check-PID`: the test that holds for root too,
    /// whom `access(2)` always answers yes (a read-only mount or an immutable folder stop root).
    private static func checkWritable(_ folder: String) throws {
        let probe = folder + "/.agon-write-check-\(getpid())"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw RuntimeError("\(folder): cannot write in this folder: \(systemErrorText(errno))")
        }
        close(descriptor)
        unlink(probe)
    }
}
