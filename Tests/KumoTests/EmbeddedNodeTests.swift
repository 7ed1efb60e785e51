import Kumo
import KumoTestKit
import KumoTestNodeActors
import Testing

/// A program's own `@main` that embeds the node command (`KumoTestNode`, built from
/// Tests/KumoTestNode), run as an OS process and called from a node in this process.
extension ClusterTimingTests {
    @Suite("A program that embeds the node command, run as an OS process", .serialized, .timeLimit(.minutes(2)))
    struct EmbeddedNodeTests {
        static func secret() -> String { "embedded-" + String(UInt64.random(in: 1...UInt64.max), radix: 36) }

        static func settings(name: String, secret: String) -> ClusterSettings {
            var settings = ClusterSettings(name: name, secret: secret)
            settings.logger.logLevel = .critical
            return settings
        }

        /// Starts `KumoTestNode node …` on loopback and returns it with the address its ready line names.
        static func start(arguments: [String]) async throws -> (ChildProcess, NodeAddress) {
            let child = try await ChildProcess.launch(
                executable: siblingExecutable(named: "KumoTestNode"),
                arguments: ["node", "--port", "0", "--log-level", "warning"] + arguments,
                readyPrefix: "node ready: ")
            let field = child.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }
            let address = try #require(field.flatMap { NodeAddress(parsing: $0.dropFirst("address=".count)) })
            return (child, address)
        }

        @Test("the program's own actor answers from the node its flags describe; SIGTERM exits 0")
        func hostsItsOwnActor() async throws {
            let secret = Self.secret()
            let (node, address) = try await Self.start(arguments: ["--name", "embedded", "--secret", secret])
            #expect(node.readyLine.hasPrefix("name=embedded address=\(address) incarnation="), "\(node.readyLine)")

            var settings = Self.settings(name: "tester", secret: secret)
            settings.seeds = [address]
            let system = try await ClusterSystem(settings: settings)
            let peer = try await system.connect(to: address)
            let counter = try Counter.resolve(id: .named("counter", on: peer), using: system)
            #expect(try await counter.add(2) == 2)
            #expect(try await counter.add(3) == 5)
            #expect(try await counter.nodeName() == "embedded")

            // The registration the program's set-up made reaches the cluster it formed with this node.
            try await system.waitForMembers(2)
            #expect(await system.members().contains { $0.node.address == address && $0.name == "embedded" })
            try await waitFor("the program's registration of its counter reaches this node") {
                (try? await system.lookup(Counter.self, "counters").count) == 1
            }
            let registered = try #require(try await system.lookup(Counter.self, "counters").first)
            #expect(try await registered.add(1) == 6)

            node.terminate()
            #expect(await node.waitForExit() == 0)
            await system.shutdown()
        }

        @Test("the program exits with status 2 when the cluster declares its node down")
        func downedExitsTwo() async throws {
            let secret = Self.secret()
            // Two members here, so that the one that downs the program's node is not alone and tells
            // it its verdict whatever the addresses' order.
            let system = try await ClusterSystem(settings: Self.settings(name: "operator", secret: secret))
            var witnessSettings = Self.settings(name: "witness", secret: secret)
            witnessSettings.seeds = [system.node.address]
            let witness = try await ClusterSystem(settings: witnessSettings)
            try await system.waitForMembers(2)
            let (node, address) = try await Self.start(
                arguments: ["--name", "doomed", "--secret", secret, "--seed", "\(system.node.address)"])
            try await system.waitForMembers(3)
            let doomed = try #require(await system.members().first { $0.node.address == address }?.node)
            await system.down(doomed)
            #expect(await node.waitForExit(timeout: .seconds(20)) == 2, "\(node.outputLines.joined(separator: "\n"))")
            #expect(node.outputLines.contains { $0.contains("this node is down") }, "\(node.outputLines.joined(separator: "\n"))")
            await witness.shutdown()
            await system.shutdown()
        }

        @Test("a malformed flag or a missing secret stops the program before a node starts, naming the flag")
        func badFlags() async throws {
            for (arguments, message) in [
                (["--secret", "s", "--seed", "nowhere"], "seed 'nowhere' is not HOST:PORT"),
                ([], "a cluster secret is required"),
            ] {
                do {
                    let child = try await ChildProcess.launch(
                        executable: siblingExecutable(named: "KumoTestNode"),
                        arguments: ["node", "--port", "0"] + arguments,
                        readyPrefix: "node ready: ", environment: ["KUMO_SECRET": ""])
                    child.kill()
                    Issue.record("a node started with \(arguments)")
                } catch let error as ChildProcessError {
                    let output = error.output.joined(separator: "\n")
                    #expect(output.contains(message), "\(output)")
                    #expect(output.contains("Usage: KumoTestNode node"), "\(output)")
                }
            }
        }
    }
}
