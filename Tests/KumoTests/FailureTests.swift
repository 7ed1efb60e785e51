import Foundation
import Kumo
import KumoCore
import KumoExamples
import KumoTestKit
import NIOCore
import NIOPosix
import Testing

extension ClusterTimingTests {
    @Suite("Faults and bad input", .timeLimit(.minutes(2)))
    struct FailureTests {
        @Test("a node stopped mid-call fails the call fast, and later calls fail fast too")
        func nodeStoppedMidCall() async throws {
            try await withLocalCluster(nodes: 2) { nodes in
                let greeter = Greeter(actorSystem: nodes[0])
                let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
                #expect(try await remote.greetings() == 0)
                let clock = ContinuousClock()
                let start = clock.now
                let slow = Task { try await remote.sleep(milliseconds: 4000) }
                try await Task.sleep(for: .milliseconds(100))
                await nodes[0].shutdown()
                await #expect(throws: ClusterError.self) { _ = try await slow.value }
                #expect(clock.now - start < .seconds(2))
                let again = clock.now
                await #expect(throws: ClusterError.self) { _ = try await remote.greet("gone?") }
                #expect(clock.now - again < .seconds(1))
            }
        }

        @Test("a call to a node that is not there fails fast with nodeUnreachable")
        func unreachableNode() async throws {
            try await withLocalCluster(nodes: 1) { nodes in
                let port = try await freePort()
                let nowhere = NodeID(address: NodeAddress(host: "127.0.0.1", port: port), incarnation: 1)
                let remote = try Greeter.resolve(id: .named("greeter", on: nowhere), using: nodes[0])
                let clock = ContinuousClock()
                let start = clock.now
                do {
                    _ = try await remote.greet("hello?")
                    Issue.record("expected an error")
                } catch let error as ClusterError {
                    #expect(error.code == .nodeUnreachable)
                }
                #expect(clock.now - start < .seconds(3))
            }
        }

        @Test("a peer with the wrong secret is refused in the handshake and can call nothing")
        func wrongSecret() async throws {
            try await withLocalCluster(nodes: 1) { nodes in
                let greeter = try nodes[0].withActorName("greeter") { Greeter(actorSystem: nodes[0]) }
                let intruder = try await ClusterSystem(settings: ClusterSettings(name: "intruder", secret: "wrong"))
                defer { Task { await intruder.shutdown() } }
                do {
                    _ = try await intruder.connect(to: nodes[0].node.address)
                    Issue.record("expected the handshake to fail")
                } catch let error as ClusterError {
                    #expect(error.code == .authenticationFailed)
                }
                let remote = try Greeter.resolve(id: .named("greeter", on: nodes[0].node), using: intruder)
                await #expect(throws: ClusterError.self) { _ = try await remote.greet("let me in") }
                #expect(try await greeter.greetings() == 0)
            }
        }

        @Test("garbage, truncated frames and oversized lengths close only that connection")
        func badBytes() async throws {
            try await withLocalCluster(nodes: 2, configure: { _, settings in settings.maxFrameSize = 1 << 20 }) { nodes in
                let greeter = Greeter(actorSystem: nodes[0])
                let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
                #expect(try await remote.greetings() == 0)
                var oversized = ByteBuffer()
                oversized.writeInteger(UInt32(1 << 30))
                oversized.writeInteger(FrameKind.hello.rawValue)
                var truncatedHello = ByteBuffer()
                truncatedHello.writeInteger(UInt32(200))
                truncatedHello.writeInteger(FrameKind.hello.rawValue)
                truncatedHello.writeString("KUMO")
                var badMagic = ByteBuffer()
                badMagic.writeInteger(UInt32(40))
                badMagic.writeInteger(FrameKind.hello.rawValue)
                badMagic.writeRepeatingByte(0x41, count: 39)
                var random = ByteBuffer()
                var generator = SystemRandomNumberGenerator()
                for _ in 0..<4096 { random.writeInteger(UInt8.random(in: 0...255, using: &generator)) }
                for payload in [oversized, badMagic, random] {
                    let closed = try await sendRaw(payload, to: nodes[0].node.address, waitForClose: true)
                    #expect(closed, "the node should close a connection that sends bad bytes")
                }
                // A frame that never completes is cut off by the handshake timeout; meanwhile all is well.
                _ = try await sendRaw(truncatedHello, to: nodes[0].node.address, waitForClose: false)
                #expect(try await remote.greet("still there?").contains("still there?"))
            }
        }

        @Test("a node that restarts on the same port is a new incarnation")
        func restartIsNewIncarnation() async throws {
            let first = try await ClusterSystem(settings: ClusterSettings(name: "first", secret: "s"))
            let port = first.node.address.port
            let caller = try await ClusterSystem(settings: ClusterSettings(name: "caller", secret: "s"))
            let greeter = try first.withActorName("greeter") { Greeter(actorSystem: first) }
            let oldRef = try Greeter.resolve(id: greeter.id, using: caller)
            #expect(try await oldRef.greetings() == 0)
            await first.shutdown()
            var settings = ClusterSettings(name: "second", secret: "s")
            settings.port = port
            let second = try await ClusterSystem(settings: settings)
            let newGreeter = try second.withActorName("greeter") { Greeter(actorSystem: second) }
            try await Task.sleep(for: .milliseconds(300))  // past the reconnect backoff
            do {
                _ = try await oldRef.greetings()
                Issue.record("a reference to the old incarnation must not reach the new one")
            } catch let error as ClusterError {
                // The old incarnation said goodbye (shuttingDown) or is gone; never the new one's answer.
                #expect([.nodeGone, .nodeUnreachable, .connectionLost, .shuttingDown].contains(error.code), "\(error)")
            }
            try await Task.sleep(for: .milliseconds(300))
            let newRef = try Greeter.resolve(id: newGreeter.id, using: caller)
            #expect(try await newRef.greetings() == 0)
            await second.shutdown()
            await caller.shutdown()
        }
    }
}

/// Opens a raw TCP connection, writes `bytes`, and reports whether the peer closed it within 3 s.
func sendRaw(_ bytes: ByteBuffer, to address: NodeAddress, waitForClose: Bool) async throws -> Bool {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: address.host, port: address.port).get()
    try await channel.writeAndFlush(bytes)
    guard waitForClose else {
        try await channel.close()
        return true
    }
    let closed = await withTaskGroup(of: Bool.self) { group in
        group.addTask { (try? await channel.closeFuture.get()) != nil }
        group.addTask {
            try? await Task.sleep(for: .seconds(3))
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
    if !closed { try? await channel.close() }
    return closed
}

/// A port that was free a moment ago.
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}
