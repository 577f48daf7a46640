// How the command line reports a failure at run time: one line, exit status 1, no usage text.
// Mistakes on the command line stay ArgumentParser's `ValidationError`s (exit 64, with usage).
import AgonNN
import AgonRunStore
import AgonTraining
import AgonWire
import Foundation

/// A failure at run time (a child process died, a folder is not writable, a file holds the
/// wrong thing), not a mistake in the command line: `agon` prints it as one line and exits 1.
struct RuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `error` as one line for the user: the library errors' own messages (which name the input),
/// Foundation's file errors as `path: reason`, anything else flattened onto one line.
func oneLineDescription(of error: any Error) -> String {
    let text: String
    switch error {
    case let error as TrainingError: text = error.message + (error.cause.map { " (\(oneLineDescription(of: $0)))" } ?? "")
    case let error as CheckpointError: text = error.message + (error.cause.map { ": \(oneLineDescription(of: $0))" } ?? "")
    case let error as WireError: text = error.message + (error.cause.map { ": \(oneLineDescription(of: $0))" } ?? "")
    case let error as RunStoreError: text = error.message
    case let error as CocoaError: text = describeFileError(error as NSError)
    default:
        let bridged = error as NSError
        text = bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain
            ? describeFileError(bridged) : String(describing: error)
    }
    return text.split(whereSeparator: \.isNewline).joined(separator: " ")
}

/// A Foundation file error as `path: reason` (`runs/x: permission denied`), not its dictionary.
private func describeFileError(_ error: NSError) -> String {
    let path = error.userInfo[NSFilePathErrorKey] as? String ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
    let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError
    let number: Int32?
    if error.domain == NSPOSIXErrorDomain {
        number = Int32(error.code)
    } else if let underlying, underlying.domain == NSPOSIXErrorDomain {
        number = Int32(underlying.code)
    } else {
        switch CocoaError.Code(rawValue: error.code) {
        case .fileWriteVolumeReadOnly: number = EROFS
        case .fileWriteNoPermission, .fileReadNoPermission: number = EACCES
        case .fileWriteFileExists: number = EEXIST
        case .fileNoSuchFile, .fileReadNoSuchFile: number = ENOENT
        case .fileWriteOutOfSpace: number = ENOSPC
        default: number = nil
        }
    }
    let reason = number.map(systemErrorText) ?? error.localizedDescription
    return path.map { "\($0): \(reason)" } ?? reason
}

/// The system's text for `errno` value `number`, to read inside a sentence: "permission denied".
func systemErrorText(_ number: Int32) -> String {
    let text = String(cString: strerror(number))
    return text.prefix(1).lowercased() + text.dropFirst()
}
