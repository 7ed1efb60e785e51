import Foundation
import Kumo
import KumoCore
import KumoExamples
import KumoTestKit
import Testing

/// Starts `kumo node` processes on loopback; the `kumo` binary is found beside the test bundle
/// (or at $KUMO_BINARY).
func startNode(name: String, secret: String, port: Int = 0, extra: [String] = []) async throws -> (ChildProcess, NodeAddress) {
    let child = try await ChildProcess.launch(
        executable: siblingExecutable(named: "kumo", override: "KUMO_BINARY"),
        arguments: ["node", "--name", name, "--port", "\(port)", "--secret", secret, "--log-level", "warning"] + extra,
        readyPrefix: "kumo node ready: ")
    let field = child.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }
    let address = try #require(field.flatMap { NodeAddress(parsing: $0.dropFirst("address=".count)) })
    return (child, address)
}

extension ClusterTimingTests {
    @Suite("Nodes in separate OS processes", .serialized, .timeLimit(.minutes(2)))
    struct MultiProcessTests {
        @Test("calls reach actors in another process; SIGKILL makes them fail fast; SIGTERM exits cleanly")
        func callsAcrossProcesses() async throws {
            let secret = "mp-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
            let (alpha, alphaAddress) = try await startNode(name: "alpha", secret: secret)
            // beta runs with the transport tunables set from the command line.
            let (beta, betaAddress) = try await startNode(
                name: "beta", secret: secret,
                extra: ["--socket-buffer-kib", "0", "--busy-poll-microseconds", "30", "--message-batching-microseconds", "200", "--call-flush-threshold", "2"])
            var settings = ClusterSettings(name: "tester", secret: secret)
            settings.logger.logLevel = .critical
            let system = try await ClusterSystem(settings: settings)

            let alphaNode = try await system.connect(to: alphaAddress)
            let betaNode = try await system.connect(to: betaAddress)
            let alphaGreeter = try Greeter.resolve(id: .named("greeter", on: alphaNode), using: system)
            let betaGreeter = try Greeter.resolve(id: .named("greeter", on: betaNode), using: system)
            #expect(try await alphaGreeter.greet("x").contains("from alpha"))
            #expect(try await betaGreeter.greet("y").contains("from beta"))
            await #expect(throws: GreeterError(reason: "r", node: "beta")) { _ = try await betaGreeter.fail("r") }

            // A typed channel across processes.
            let recorder = try Recorder.resolve(id: .named("recorder", on: betaNode), using: system)
            let (send, receive) = try system.makeChannel(of: Int.self)
            try await recorder.stream(count: 1000, to: send)
            var received: [Int] = []
            for await value in receive {
                received.append(value)
                if received.count == 1000 { break }
            }
            #expect(received == Array(0..<1000))

            // Kill beta: calls to it fail fast, alpha is unaffected.
            beta.kill()
            #expect(await beta.waitForExit() != nil)
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: ClusterError.self) { _ = try await betaGreeter.greet("dead?") }
            #expect(clock.now - start < .seconds(1))
            #expect(try await alphaGreeter.greet("z").contains("from alpha"))

            // SIGTERM: alpha shuts down cleanly and exits 0.
            alpha.terminate()
            #expect(await alpha.waitForExit() == 0)
            await system.shutdown()
        }

        @Test("a node process refuses a caller with the wrong secret and keeps serving")
        func wrongSecretAcrossProcesses() async throws {
            let (node, address) = try await startNode(name: "guarded", secret: "right")
            var settings = ClusterSettings(name: "intruder", secret: "wrong")
            settings.logger.logLevel = .critical
            let intruder = try await ClusterSystem(settings: settings)
            await #expect(throws: ClusterError(.authenticationFailed, "")) { _ = try await intruder.connect(to: address) }
            await intruder.shutdown()
            settings = ClusterSettings(name: "friend", secret: "right")
            settings.logger.logLevel = .critical
            let friend = try await ClusterSystem(settings: settings)
            let peer = try await friend.connect(to: address)
            let greeter = try Greeter.resolve(id: .named("greeter", on: peer), using: friend)
            #expect(try await greeter.greet("ok").contains("from guarded"))
            await friend.shutdown()
            node.terminate()
            #expect(await node.waitForExit() == 0)
        }
    }
}
