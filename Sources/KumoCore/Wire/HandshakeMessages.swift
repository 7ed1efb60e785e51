import NIOCore

/// The four magic bytes at the start of every hello: `KUMO`.
package let kumoMagic: [UInt8] = Array("KUMO".utf8)

/// The first frame of a connection, from the node that opened it.
package struct HelloMessage: Hashable, Sendable {
    /// Lowest protocol version the sender speaks.
    package var minimumVersion: ProtocolVersion
    /// Highest protocol version the sender speaks.
    package var maximumVersion: ProtocolVersion
    /// The sender's identity (its listening address and incarnation).
    package var node: NodeID
    /// The sender's human-readable node name.
    package var name: String
    /// 32 random bytes, the challenge for the acceptor.
    package var nonce: [UInt8]

    package init(minimumVersion: ProtocolVersion, maximumVersion: ProtocolVersion, node: NodeID, name: String, nonce: [UInt8]) {
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.node = node
        self.name = name
        self.nonce = nonce
    }

    /// Appends the whole frame.
    package func write(to buffer: inout ByteBuffer) {
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
    package init(body: ByteBuffer) throws(WireError) {
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
package struct ChallengeMessage: Hashable, Sendable {
    /// The version both sides will speak.
    package var version: ProtocolVersion
    /// The acceptor's identity.
    package var node: NodeID
    /// The acceptor's node name.
    package var name: String
    /// 32 random bytes, the challenge for the initiator.
    package var nonce: [UInt8]
    /// HMAC-SHA256 proving the acceptor knows the secret (docs/wire.md).
    package var mac: [UInt8]

    package init(version: ProtocolVersion, node: NodeID, name: String, nonce: [UInt8], mac: [UInt8]) {
        self.version = version
        self.node = node
        self.name = name
        self.nonce = nonce
        self.mac = mac
    }

    package func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.challenge)
        buffer.writeInteger(version.rawValue)
        buffer.writeWireNodeID(node)
        buffer.writeWireString(name)
        buffer.writeBytes(nonce)
        buffer.writeBytes(mac)
        buffer.endFrame(startedAt: start)
    }

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        version = ProtocolVersion(try body.readWireInteger(as: UInt16.self, "version"))
        node = try body.readWireNodeID()
        name = try body.readWireString("node name")
        nonce = Array(try body.readWireSlice(32, "nonce").readableBytesView)
        mac = Array(try body.readWireSlice(32, "mac").readableBytesView)
    }
}

/// The initiator's proof that it knows the cluster secret.
package struct ProofMessage: Hashable, Sendable {
    /// HMAC-SHA256 over the acceptor's challenge (docs/wire.md).
    package var mac: [UInt8]

    package init(mac: [UInt8]) { self.mac = mac }

    package func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.proof)
        buffer.writeBytes(mac)
        buffer.endFrame(startedAt: start)
    }

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        mac = Array(try body.readWireSlice(32, "mac").readableBytesView)
    }
}

/// A refusal, sent before closing a connection in the handshake.
package struct RejectMessage: Hashable, Sendable {
    /// Why the connection was refused.
    package enum Reason: UInt8, Sendable {
        case authenticationFailed = 1
        case unsupportedVersion = 2
        case duplicateConnection = 3
        case shuttingDown = 4
        case protocolError = 5
    }

    package var reason: Reason
    package var message: String

    package init(reason: Reason, message: String) {
        self.reason = reason
        self.message = message
    }

    package func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.reject)
        buffer.writeInteger(reason.rawValue)
        buffer.writeWireString(message)
        buffer.endFrame(startedAt: start)
    }

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        let raw = try body.readWireInteger(as: UInt8.self, "reject reason")
        reason = Reason(rawValue: raw) ?? .protocolError
        message = try body.readWireString("reject message")
    }
}
