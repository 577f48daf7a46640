// The ZeroMQ endpoints given on the command line (--bind, --coordinator, --aggregator), checked
// before any socket sees them: ZeroMQ's own answer to `127.0.0.1:5555` is "invalid argument".
import ArgumentParser

enum EndpointOption {
    /// Checks that `value`, given as `option`, is `tcp://HOST:PORT` or `ipc://PATH`; a socket
    /// that binds (`binding`) may also take `*` for the port, to pick a free one.
    ///
    /// - Throws: `ValidationError` naming the option, the value and the form it must have.
    static func validate(_ value: String, option: String, binding: Bool) throws {
        let form = "tcp://HOST:PORT (or ipc://PATH)"
        if value.hasPrefix("ipc://") {
            guard value.count > "ipc://".count else { throw ValidationError("\(option) \(value): the ipc:// endpoint needs a path, as in ipc:///tmp/agon.sock") }
            return
        }
        guard value.hasPrefix("tcp://") else { throw ValidationError("\(option) must be \(form), got \(value)") }
        let address = value.dropFirst("tcp://".count)
        guard let colon = address.lastIndex(of: ":"), colon != address.startIndex else {
            throw ValidationError("\(option) must be \(form), got \(value): no host and port")
        }
        let port = address[address.index(after: colon)...]
        guard (binding && port == "*") || (Int(port).map { (1...65_535).contains($0) } ?? false) else {
            throw ValidationError("\(option) \(value): the port must be a number from 1 to 65535\(binding ? " (or * for a free one)" : "")")
        }
    }
}
