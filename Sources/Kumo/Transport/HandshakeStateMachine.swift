import Crypto
import KumoCore
import NIOCore

/// The peer that a handshake authenticated.
struct PeerIdentity: Sendable, Hashable {
    var node: NodeID
    var name: String
    var version: ProtocolVersion
}

/// The connection handshake as a value: each event returns what the handler must do.
///
/// ```
/// initiator                                  acceptor
///   hello(versions, node, name, nI)   ──▶
///                                     ◀──    challenge(version, node, name, nA, macA)
///   proof(macI)                       ──▶
///                                     ◀──    accepted
/// macA = HMAC(key, "kumo/v1/acceptor"  ‖ nI ‖ nA ‖ initiator ‖ acceptor)
/// macI = HMAC(key, "kumo/v1/initiator" ‖ nA ‖ nI ‖ initiator ‖ acceptor)
/// ```
/// The key is SHA-256 of the cluster secret; the secret never crosses the wire. Each side
/// checks the other's MAC (in constant time) before it trusts anything else the peer sends.
struct HandshakeStateMachine {
    enum Role { case initiator, acceptor }

    enum Action {
        /// Write these bytes and keep waiting.
        case send(ByteBuffer)
        /// Write these bytes (if any); the connection is now established with `peer`.
        case establish(PeerIdentity, send: ByteBuffer?)
        /// Write this rejection, then close; `reason` is for the log.
        case reject(ByteBuffer, ClusterError)
        /// Close without writing anything; `reason` is for the log and for waiting callers.
        case fail(ClusterError)
    }

    private enum State {
        case initial
        case awaitingChallenge(nonce: [UInt8])
        case awaitingAccepted(PeerIdentity)
        case awaitingHello
        case awaitingProof(PeerIdentity, helloNonce: [UInt8], nonce: [UInt8])
        case done
    }

    let role: Role
    let local: NodeID
    let localName: String
    private let key: SymmetricKey
    private var state: State

    init(role: Role, local: NodeID, localName: String, secret: String) {
        self.role = role
        self.local = local
        self.localName = localName
        self.key = SymmetricKey(data: SHA256.hash(data: Array(secret.utf8)))
        self.state = role == .initiator ? .initial : .awaitingHello
    }

    /// The initiator's first move: the hello frame.
    mutating func start() -> ByteBuffer {
        let nonce = Self.makeNonce()
        state = .awaitingChallenge(nonce: nonce)
        var buffer = ByteBuffer()
        HelloMessage(
            minimumVersion: .minimumSupported, maximumVersion: .current, node: local, name: localName, nonce: nonce
        ).write(to: &buffer)
        return buffer
    }

    /// Feeds one frame received before the connection is established. `admit` is asked whether a
    /// peer that says hello may connect (it refuses duplicates); it returns a refusal or `nil`.
    mutating func receive(_ frame: Frame, admit: (NodeID) -> RejectMessage?) -> Action {
        do {
            switch (state, frame.kind) {
            case (.awaitingHello, .hello):
                let hello = try HelloMessage(body: frame.body)
                let version = min(hello.maximumVersion, ProtocolVersion.current)
                guard version >= hello.minimumVersion, version >= .minimumSupported else {
                    return reject(
                        .unsupportedVersion,
                        "peer \(hello.node) speaks protocol \(hello.minimumVersion)...\(hello.maximumVersion), this node \(ProtocolVersion.minimumSupported)...\(ProtocolVersion.current)",
                        code: .handshakeFailed)
                }
                if let refusal = admit(hello.node) {
                    var buffer = ByteBuffer()
                    refusal.write(to: &buffer)
                    state = .done
                    return .reject(buffer, ClusterError(.handshakeFailed, refusal.message, node: hello.node))
                }
                let nonce = Self.makeNonce()
                let peer = PeerIdentity(node: hello.node, name: hello.name, version: version)
                let mac = mac("kumo/v1/acceptor", hello.nonce, nonce, initiator: hello.node, acceptor: local)
                state = .awaitingProof(peer, helloNonce: hello.nonce, nonce: nonce)
                var buffer = ByteBuffer()
                ChallengeMessage(version: version, node: local, name: localName, nonce: nonce, mac: mac)
                    .write(to: &buffer)
                return .send(buffer)

            case (.awaitingChallenge(let helloNonce), .challenge):
                let challenge = try ChallengeMessage(body: frame.body)
                guard challenge.version >= .minimumSupported, challenge.version <= .current else {
                    return .fail(ClusterError(
                        .handshakeFailed,
                        "peer \(challenge.node) chose protocol \(challenge.version); this node speaks \(ProtocolVersion.minimumSupported)...\(ProtocolVersion.current)",
                        node: challenge.node))
                }
                guard verify(challenge.mac, "kumo/v1/acceptor", helloNonce, challenge.nonce,
                             initiator: local, acceptor: challenge.node)
                else {
                    return .fail(ClusterError(
                        .authenticationFailed, "peer \(challenge.node) could not prove it knows the cluster secret",
                        node: challenge.node))
                }
                let peer = PeerIdentity(node: challenge.node, name: challenge.name, version: challenge.version)
                state = .awaitingAccepted(peer)
                var buffer = ByteBuffer()
                ProofMessage(mac: mac("kumo/v1/initiator", challenge.nonce, helloNonce, initiator: local, acceptor: challenge.node))
                    .write(to: &buffer)
                return .send(buffer)

            case (.awaitingProof(let peer, let helloNonce, let nonce), .proof):
                let proof = try ProofMessage(body: frame.body)
                guard verify(proof.mac, "kumo/v1/initiator", nonce, helloNonce, initiator: peer.node, acceptor: local) else {
                    return reject(
                        .authenticationFailed, "peer \(peer.node) could not prove it knows the cluster secret",
                        code: .authenticationFailed, node: peer.node)
                }
                state = .done
                var buffer = ByteBuffer()
                let start = buffer.beginFrame(.accepted)
                buffer.endFrame(startedAt: start)
                return .establish(peer, send: buffer)

            case (.awaitingAccepted(let peer), .accepted):
                state = .done
                return .establish(peer, send: nil)

            case (_, .reject):
                let refusal = try RejectMessage(body: frame.body)
                state = .done
                let code: ClusterError.Code =
                    switch refusal.reason {
                    case .authenticationFailed: .authenticationFailed
                    case .duplicateConnection: .duplicateConnection
                    case .shuttingDown: .shuttingDown
                    default: .handshakeFailed
                    }
                return .fail(ClusterError(code, "peer refused the connection: \(refusal.message)"))

            default:
                return reject(.protocolError, "unexpected \(frame.kind) frame during the handshake", code: .protocolError)
            }
        } catch {
            return reject(.protocolError, error.description, code: .protocolError)
        }
    }

    private mutating func reject(
        _ reason: RejectMessage.Reason, _ message: String, code: ClusterError.Code, node: NodeID? = nil
    ) -> Action {
        state = .done
        var buffer = ByteBuffer()
        RejectMessage(reason: reason, message: message).write(to: &buffer)
        return .reject(buffer, ClusterError(code, message, node: node))
    }

    private func transcript(
        _ label: String, _ first: [UInt8], _ second: [UInt8], initiator: NodeID, acceptor: NodeID
    ) -> [UInt8] {
        var bytes = ByteBuffer()
        bytes.writeWireString(label)
        bytes.writeBytes(first)
        bytes.writeBytes(second)
        bytes.writeWireNodeID(initiator)
        bytes.writeWireNodeID(acceptor)
        return Array(bytes.readableBytesView)
    }

    private func mac(_ label: String, _ first: [UInt8], _ second: [UInt8], initiator: NodeID, acceptor: NodeID) -> [UInt8] {
        let data = transcript(label, first, second, initiator: initiator, acceptor: acceptor)
        return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
    }

    private func verify(
        _ mac: [UInt8], _ label: String, _ first: [UInt8], _ second: [UInt8], initiator: NodeID, acceptor: NodeID
    ) -> Bool {
        let data = transcript(label, first, second, initiator: initiator, acceptor: acceptor)
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: data, using: key)
    }

    private static func makeNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
