// The options a WireSocket is made with: limits, high-water marks, identity, reconnection and
// CURVE security. All are applied before the first bind or connect, as libzmq requires.

import CZeroMQ

extension WireSocket {
    /// The options of a socket, applied when it is made.
    ///
    /// Each optional left nil keeps libzmq's default.
    public struct Options: Sendable {
        /// ROUTER only: fail a send to an unknown or gone peer with `EHOSTUNREACH` (and to a
        /// full one with `EAGAIN` after the send timeout) instead of dropping it silently.
        public var routerMandatory: Bool
        /// ROUTER only: a new connection with a routing id already in use takes it over
        /// (a restarted worker) instead of being refused.
        public var routerHandover: Bool
        /// The largest frame accepted from a peer (`ZMQ_MAXMSGSIZE`); a peer that sends a
        /// larger one is disconnected. Default 256 MiB; nil means no limit.
        public var maximumMessageBytes: Int?
        /// The most frames `receive` returns for one message; a longer message is consumed and
        /// dropped with an `.oversized` error. Default 16 (Agon's messages have at most 3).
        public var maximumFrames: Int
        /// Messages queued per peer before a send blocks or drops (`ZMQ_SNDHWM`, default 1000).
        public var sendHighWaterMark: Int?
        /// Messages queued per peer on receive (`ZMQ_RCVHWM`, default 1000).
        public var receiveHighWaterMark: Int?
        /// How long a send may block on a full queue before it fails with `EAGAIN`
        /// (`ZMQ_SNDTIMEO`); nil blocks for ever.
        public var sendTimeoutMilliseconds: Int?
        /// The identity a ROUTER peer sees for this socket (`ZMQ_ROUTING_ID`, 1 to 255 bytes,
        /// not starting with a 0 byte); nil lets the ROUTER make one up.
        public var routingID: [UInt8]?
        /// Wait before the first reconnection attempt (`ZMQ_RECONNECT_IVL`, default 100 ms).
        public var reconnectIntervalMilliseconds: Int?
        /// Cap of the doubling reconnection wait (`ZMQ_RECONNECT_IVL_MAX`; default 0: no doubling).
        public var reconnectIntervalMaximumMilliseconds: Int?
        /// CURVE encryption and authentication, or none.
        public var security: Security
        /// The ZAP domain sent to the `ZAPHandler` with each handshake (`ZMQ_ZAP_DOMAIN`).
        public var zapDomain: String?
        /// CURVE server only: refuse every client when no `ZAPHandler` runs on the context,
        /// instead of admitting any client that knows the server key (`ZMQ_ZAP_ENFORCE_DOMAIN`,
        /// a libzmq draft option; making the socket throws if this libzmq lacks it). libzmq
        /// enforces ZAP only for a socket with a ZAP domain, so the domain `defaultZAPDomain` is
        /// set when `zapDomain` is nil or empty.
        public var requiresZAPHandler: Bool

        /// The ZAP domain of a socket that requires a handler but names no domain: `"agon"`.
        public static let defaultZAPDomain = "agon"


        /// Options with every field given or left at its default.
        public init(
            routerMandatory: Bool = false,
            routerHandover: Bool = false,
            maximumMessageBytes: Int? = 256 << 20,
            maximumFrames: Int = 16,
            sendHighWaterMark: Int? = nil,
            receiveHighWaterMark: Int? = nil,
            sendTimeoutMilliseconds: Int? = nil,
            routingID: [UInt8]? = nil,
            reconnectIntervalMilliseconds: Int? = nil,
            reconnectIntervalMaximumMilliseconds: Int? = nil,
            security: Security = .none,
            zapDomain: String? = nil,
            requiresZAPHandler: Bool = false
        ) {
            precondition(maximumFrames >= 1, "maximumFrames must be at least 1, got \(maximumFrames)")
            self.routerMandatory = routerMandatory
            self.routerHandover = routerHandover
            self.maximumMessageBytes = maximumMessageBytes
            self.maximumFrames = maximumFrames
            self.sendHighWaterMark = sendHighWaterMark
            self.receiveHighWaterMark = receiveHighWaterMark
            self.sendTimeoutMilliseconds = sendTimeoutMilliseconds
            self.routingID = routingID
            self.reconnectIntervalMilliseconds = reconnectIntervalMilliseconds
            self.reconnectIntervalMaximumMilliseconds = reconnectIntervalMaximumMilliseconds
            self.security = security
            self.zapDomain = zapDomain
            self.requiresZAPHandler = requiresZAPHandler
        }

        /// Sets every option on `socket`, in the order libzmq needs (security before bind).
        func apply(to socket: WireSocket) throws(WireError) {
            if routerMandatory { try socket.setOption(ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY", int: 1) }
            if routerHandover { try socket.setOption(ZMQ_ROUTER_HANDOVER, "ZMQ_ROUTER_HANDOVER", int: 1) }
            try socket.setOption(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE", int64: Int64(maximumMessageBytes ?? -1))
            if let value = sendHighWaterMark { try socket.setOption(ZMQ_SNDHWM, "ZMQ_SNDHWM", int: Int32(clamping: value)) }
            if let value = receiveHighWaterMark { try socket.setOption(ZMQ_RCVHWM, "ZMQ_RCVHWM", int: Int32(clamping: value)) }
            if let value = sendTimeoutMilliseconds { try socket.setOption(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO", int: Int32(clamping: value)) }
            if let value = routingID { try socket.setOption(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", bytes: value) }
            if let value = reconnectIntervalMilliseconds {
                try socket.setOption(ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL", int: Int32(clamping: value))
            }
            if let value = reconnectIntervalMaximumMilliseconds {
                try socket.setOption(ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX", int: Int32(clamping: value))
            }
            var domain = zapDomain ?? ""
            if requiresZAPHandler && domain.isEmpty { domain = Options.defaultZAPDomain }
            if !domain.isEmpty { try socket.setOption(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", bytes: Array(domain.utf8)) }
            switch security {
            case .none:
                break
            case .curveServer(let secretKey):
                let secret = try Curve.keyBytes(secretKey, role: "server secret key")
                try socket.setOption(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", int: 1)
                try socket.setOption(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", bytes: secret)
            case .curveClient(let serverPublicKey, let publicKey, let secretKey):
                let server = try Curve.keyBytes(serverPublicKey, role: "server public key")
                let own = try Curve.keyBytes(publicKey, role: "client public key")
                let secret = try Curve.keyBytes(secretKey, role: "client secret key")
                try socket.setOption(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", bytes: server)
                try socket.setOption(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", bytes: own)
                try socket.setOption(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", bytes: secret)
            }
            if requiresZAPHandler {
                // ZMQ_ZAP_ENFORCE_DOMAIN (93) is a draft option, so zmq.h hides its name. With it, a
                // socket with a domain fails the handshake when no handler is bound (libzmq 4.3
                // curve_server.cpp); without a domain it would skip ZAP altogether, hence the default.
                try socket.setOption(93, "ZMQ_ZAP_ENFORCE_DOMAIN", int: 1)
            }
        }
    }

    /// How a socket secures its connections. Keys are 40-character Z85 text (see `Curve`).
    public enum Security: Sendable {
        /// Plain text, no authentication.
        case none
        /// A CURVE server: encrypts every connection; admits clients through the context's
        /// `ZAPHandler` if one runs (otherwise any client that knows the server's public key).
        case curveServer(secretKey: String)
        /// A CURVE client of the server with `serverPublicKey`, with its own key pair.
        case curveClient(serverPublicKey: String, publicKey: String, secretKey: String)
    }
}
