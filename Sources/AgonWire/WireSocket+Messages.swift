// Sending a WireMessage on a socket with no extra copy of its Float payload.

extension WireSocket {
    /// Sends `message`, to the peer with routing id `peer` on a ROUTER (nil on other kinds).
    ///
    /// The payload of `gradients` and `parameters` goes to libzmq straight from the message's
    /// Float array, without an intermediate byte array.
    ///
    /// - Throws: `WireError` as `send(frames:)` does.
    public func send(_ message: WireMessage, to peer: [UInt8]? = nil) throws(WireError) {
        precondition((peer != nil) == (kind == .router), "a routing id is needed on a ROUTER socket and only there (this is a \(kind) socket)")
        var frames: [[UInt8]] = []
        if let peer { frames.append(peer) }
        frames.append(message.encodedHeader())
        guard let values = message.payloadValues else {
            try send(frames: frames)
            return
        }
        var outcome: Result<Void, WireError> = .success(())
        values.withUnsafeBufferPointer { buffer in
            outcome = Result { () throws(WireError) in try send(frames: frames, floats: buffer) }
        }
        try outcome.get()
    }
}
