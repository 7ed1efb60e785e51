import NIOCore

/// The four magic bytes at the start of every hello: `KUMO`.
public let kumoMagic: [UInt8] = Array("KUMO".utf8)

/// The first frame of a connection, from the node that opened it.
public struct HelloMessage: Hashable, Sendable {
    /// Lowest protocol version the sender speaks.
    public var minimumVersion: ProtocolVersion
    /// Highest protocol version the sender speaks.
    public var maximumVersion: ProtocolVersion
    /// The sender's identity (its listening address and incarnation).
    public var node: NodeID
    /// The sender's human-readable node name.
    public var name: String
    /// 32 random bytes, the challenge for the acceptor.
    public var nonce: [UInt8]

    public init(minimumVersion: ProtocolVersion, maximumVersion: ProtocolVersion, node: NodeID, name: String, nonce: [UInt8]) {
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.node = node
        self.name = name
        self.nonce = nonce
    }

    /// Appends the whole frame.
    public func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.hello)
        buffer.writeBytes(kumoMagic)
        buffer.writeInteger(minimumVersion.rawValue)
        buffer.writeInteger(maximumVersion.rawValue)
        buffer.writeWireNodeID(node)
        buffer.writeWireString(name)
        buffer.writeBytes(nonce)
        buffer.endFrame(startedAt: start)
    }

    /// Reads a hello body.
    public init(body: ByteBuffer) throws(WireError) {
        var body = body
        let magic = try body.readWireSlice(4, "magic")
        guard Array(magic.readableBytesView) == kumoMagic else {
            throw WireError(.badMagic, "connection does not start with a Kumo hello")
        }
        minimumVersion = ProtocolVersion(try body.readWireInteger(as: UInt16.self, "minimum version"))
        maximumVersion = ProtocolVersion(try body.readWireInteger(as: UInt16.self, "maximum version"))
        node = try body.readWireNodeID()
        name = try body.readWireString("node name")
        nonce = Array(try body.readWireSlice(32, "nonce").readableBytesView)
    }
}

/// The acceptor's answer to a hello: its identity, its own challenge, and its proof that it
/// knows the cluster secret.
public struct ChallengeMessage: Hashable, Sendable {
    /// The version both sides will speak.
    public var version: ProtocolVersion
    /// The acceptor's identity.
    public var node: NodeID
    /// The acceptor's node name.
    public var name: String
    /// 32 random bytes, the challenge for the initiator.
    public var nonce: [UInt8]
    /// HMAC-SHA256 proving the acceptor knows the secret (docs/wire.md).
    public var mac: [UInt8]

    public init(version: ProtocolVersion, node: NodeID, name: String, nonce: [UInt8], mac: [UInt8]) {
        self.version = version
        self.node = node
        self.name = name
        self.nonce = nonce
        self.mac = mac
    }

    public func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.challenge)
        buffer.writeInteger(version.rawValue)
        buffer.writeWireNodeID(node)
        buffer.writeWireString(name)
        buffer.writeBytes(nonce)
        buffer.writeBytes(mac)
        buffer.endFrame(startedAt: start)
    }

    public init(body: ByteBuffer) throws(WireError) {
        var body = body
        version = ProtocolVersion(try body.readWireInteger(as: UInt16.self, "version"))
        node = try body.readWireNodeID()
        name = try body.readWireString("node name")
        nonce = Array(try body.readWireSlice(32, "nonce").readableBytesView)
        mac = Array(try body.readWireSlice(32, "mac").readableBytesView)
    }
}

/// The initiator's proof that it knows the cluster secret.
public struct ProofMessage: Hashable, Sendable {
    /// HMAC-SHA256 over the acceptor's challenge (docs/wire.md).
    public var mac: [UInt8]

    public init(mac: [UInt8]) { self.mac = mac }

    public func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.proof)
        buffer.writeBytes(mac)
        buffer.endFrame(startedAt: start)
    }

    public init(body: ByteBuffer) throws(WireError) {
        var body = body
        mac = Array(try body.readWireSlice(32, "mac").readableBytesView)
    }
}

/// A refusal, sent before closing a connection in the handshake.
public struct RejectMessage: Hashable, Sendable {
    /// Why the connection was refused.
    public enum Reason: UInt8, Sendable {
        case authenticationFailed = 1
        case unsupportedVersion = 2
        case duplicateConnection = 3
        case shuttingDown = 4
        case protocolError = 5
    }

    public var reason: Reason
    public var message: String

    public init(reason: Reason, message: String) {
        self.reason = reason
        self.message = message
    }

    public func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.reject)
        buffer.writeInteger(reason.rawValue)
        buffer.writeWireString(message)
        buffer.endFrame(startedAt: start)
    }

    public init(body: ByteBuffer) throws(WireError) {
        var body = body
        let raw = try body.readWireInteger(as: UInt8.self, "reject reason")
        reason = Reason(rawValue: raw) ?? .protocolError
        message = try body.readWireString("reject message")
    }
}
