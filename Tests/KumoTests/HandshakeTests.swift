@testable import Kumo
import KumoCore
import NIOCore
import Testing

@Suite("Handshake state machine")
struct HandshakeTests {
    let a = NodeID(address: NodeAddress(host: "127.0.0.1", port: 7001), incarnation: 1)
    let b = NodeID(address: NodeAddress(host: "127.0.0.1", port: 7002), incarnation: 2)

    func frame(_ bytes: ByteBuffer) throws -> Frame {
        var parser = FrameParser(maxFrameSize: 1 << 16)
        parser.append(bytes)
        return try #require(try parser.next())
    }

    func run(initiatorSecret: String, acceptorSecret: String) throws -> (HandshakeStateMachine.Action?, HandshakeStateMachine.Action?) {
        var initiator = HandshakeStateMachine(role: .initiator, local: a, localName: "a", secret: initiatorSecret)
        var acceptor = HandshakeStateMachine(role: .acceptor, local: b, localName: "b", secret: acceptorSecret)
        let hello = initiator.start()
        guard case .send(let challenge) = acceptor.receive(try frame(hello), admit: { _ in nil }) else {
            Issue.record("acceptor did not answer the hello")
            return (nil, nil)
        }
        let afterChallenge = initiator.receive(try frame(challenge), admit: { _ in nil })
        guard case .send(let proof) = afterChallenge else { return (afterChallenge, nil) }
        let afterProof = acceptor.receive(try frame(proof), admit: { _ in nil })
        guard case .establish(_, let accepted?) = afterProof else { return (nil, afterProof) }
        return (initiator.receive(try frame(accepted), admit: { _ in nil }), afterProof)
    }

    @Test("peers sharing the secret establish the connection and learn each other")
    func success() throws {
        let (initiator, acceptor) = try run(initiatorSecret: "s", acceptorSecret: "s")
        guard case .establish(let peerOfInitiator, nil) = initiator, case .establish(let peerOfAcceptor, _) = acceptor else {
            Issue.record("handshake did not establish: \(String(describing: initiator)) \(String(describing: acceptor))")
            return
        }
        #expect(peerOfInitiator.node == b && peerOfInitiator.name == "b")
        #expect(peerOfAcceptor.node == a && peerOfAcceptor.name == "a")
        #expect(peerOfInitiator.version == .current)
    }

    @Test("an initiator refuses an acceptor that does not know the secret")
    func acceptorWithoutSecret() throws {
        let (initiator, _) = try run(initiatorSecret: "right", acceptorSecret: "wrong")
        guard case .fail(let error) = initiator else {
            Issue.record("expected the initiator to fail, got \(String(describing: initiator))")
            return
        }
        #expect(error.code == .authenticationFailed)
    }

    @Test("the secret never appears in the handshake bytes")
    func secretNotOnWire() throws {
        let secret = "correct-horse-battery-staple"
        var initiator = HandshakeStateMachine(role: .initiator, local: a, localName: "a", secret: secret)
        var acceptor = HandshakeStateMachine(role: .acceptor, local: b, localName: "b", secret: secret)
        let hello = initiator.start()
        guard case .send(let challenge) = acceptor.receive(try frame(hello), admit: { _ in nil }),
              case .send(let proof) = initiator.receive(try frame(challenge), admit: { _ in nil })
        else {
            Issue.record("handshake did not proceed")
            return
        }
        for bytes in [hello, challenge, proof] {
            let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
            #expect(!text.contains(secret))
        }
    }

    @Test("an unsupported protocol version is rejected")
    func versionMismatch() throws {
        var acceptor = HandshakeStateMachine(role: .acceptor, local: b, localName: "b", secret: "s")
        var hello = ByteBuffer()
        HelloMessage(minimumVersion: ProtocolVersion(7), maximumVersion: ProtocolVersion(9), node: a, name: "future", nonce: Array(repeating: 0, count: 32))
            .write(to: &hello)
        guard case .reject(_, let error) = acceptor.receive(try frame(hello), admit: { _ in nil }) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(error.code == .handshakeFailed)
        #expect(error.message.contains("v7"))
    }

    @Test("a node that speaks only protocol version 1 is refused, and the refusal names both versions")
    func oldVersion() throws {
        var acceptor = HandshakeStateMachine(role: .acceptor, local: b, localName: "b", secret: "s")
        var hello = ByteBuffer()
        HelloMessage(minimumVersion: ProtocolVersion(1), maximumVersion: ProtocolVersion(1), node: a, name: "old", nonce: Array(repeating: 0, count: 32))
            .write(to: &hello)
        guard case .reject(let bytes, let error) = acceptor.receive(try frame(hello), admit: { _ in nil }) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(error.message.contains("v1...v1"), "\(error)")
        #expect(error.message.contains("\(ProtocolVersion.minimumSupported)...\(ProtocolVersion.current)"), "\(error)")
        // The old node reads the rejection and reports it with the message.
        let rejection = try RejectMessage(body: try frame(bytes).body)
        #expect(rejection.reason == .unsupportedVersion)
        #expect(rejection.message == error.message)
    }

    @Test("frames other than the handshake's are a protocol error before it ends")
    func earlyCall() throws {
        var acceptor = HandshakeStateMachine(role: .acceptor, local: b, localName: "b", secret: "s")
        var call = ByteBuffer()
        let start = call.beginFrame(.call)
        call.writeBytes([1, 2, 3])
        call.endFrame(startedAt: start)
        guard case .reject(_, let error) = acceptor.receive(try frame(call), admit: { _ in nil }) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(error.code == .protocolError)
    }
}
