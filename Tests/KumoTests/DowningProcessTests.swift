import Kumo
import KumoCore
import KumoExamples
import KumoTestKit
import Testing

/// The downing scenarios that once took a service down, with a long-lived `kumo node` process and
/// short-lived nodes that crash.
extension ClusterTimingTests {
    @Suite("Downing across OS processes", .serialized, .timeLimit(.minutes(3)))
    struct DowningProcessTests {
        /// The long-lived node's downing timeout, in seconds (`--downing-timeout`).
        static let downingTimeout = "1"

        static func secret() -> String { "down-" + String(UInt64.random(in: 1...UInt64.max), radix: 36) }

        static func settings(name: String, secret: String) -> ClusterSettings {
            var settings = ClusterSettings(name: name, secret: secret)
            settings.logger.logLevel = .critical
            return settings
        }

        /// A node that only asks (`kumo status` does the same): no membership of its own.
        static func observer(secret: String) async throws -> ClusterSystem {
            var settings = settings(name: "observer", secret: secret)
            settings.membership.enabled = false
            return try await ClusterSystem(settings: settings)
        }

        /// A free loopback port, found by binding port 0 (and closing it again).
        static func freePort(secret: String) async throws -> Int {
            var probe = settings(name: "probe", secret: secret)
            probe.membership.enabled = false
            let system = try await ClusterSystem(settings: probe)
            let port = system.node.address.port
            await system.shutdown()
            return port
        }

        /// A free loopback port below or above `port`, found by binding port 0 until one fits.
        static func freePort(below: Bool, _ port: Int, secret: String) async throws -> Int {
            for _ in 0..<64 {
                let candidate = try await freePort(secret: secret)
                if below ? candidate < port : candidate > port { return candidate }
            }
            throw ClusterError(.invalidConfiguration, "no free port \(below ? "below" : "above") \(port) in 64 tries")
        }

        /// A port for the long-lived node that leaves plenty of free ports on the short-lived
        /// nodes' side: the highest (or lowest) of a few free ones.
        static func longLivedPort(higher: Bool, secret: String) async throws -> Int {
            var ports: [Int] = []
            for _ in 0..<8 { ports.append(try await freePort(secret: secret)) }
            return (higher ? ports.max() : ports.min()) ?? 0
        }

        @Test(
            "a short-lived node that joins, makes 5,000 calls and crashes never downs the long-lived node: 10 rounds",
            arguments: [true, false])
        func shortLivedNodesCrash(longLivedOnHigherPort: Bool) async throws {
            let secret = Self.secret()
            let port = try await Self.longLivedPort(higher: longLivedOnHigherPort, secret: secret)
            let (long, address) = try await startNode(
                name: "long", secret: secret, port: port, extra: ["--downing-timeout", Self.downingTimeout])
            let observer = try await Self.observer(secret: secret)
            for round in 1...10 {
                var settings = Self.settings(name: "short\(round)", secret: secret)
                settings.port = try await Self.freePort(below: longLivedOnHigherPort, address.port, secret: secret)
                settings.seeds = [address]
                let short = try await ClusterSystem(settings: settings)
                try await short.waitForMembers(2)
                let longNode = try await short.connect(to: address)
                let greeter = try Greeter.resolve(id: .named("greeter", on: longNode), using: short)
                let answered = try await withThrowingTaskGroup(of: Int.self) { group in
                    for worker in 0..<10 {
                        group.addTask {
                            for call in 0..<500 { _ = try await greeter.greet("round \(round) worker \(worker) call \(call)") }
                            return 500
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(answered == 5000)
                // A crash: no goodbye, no leave.
                await short.simulateCrash()
                // Past the downing timeout: the long-lived node downs the short one, never itself.
                try await waitFor("round \(round): the long-lived node never downed the short-lived one") {
                    let view = (try? await observer.members(of: address)) ?? []
                    return view.first { $0.node == short.node }?.status == .down
                }
                let view = try await observer.members(of: address)
                #expect(view.first { $0.node == longNode }?.status == .up, "round \(round): \(view)")
                #expect(long.isRunning, "round \(round): the long-lived node exited")
            }
            await observer.shutdown()
            long.terminate()
            #expect(await long.waitForExit() == 0, "the long-lived node was downed (exit 2) or failed")
        }

        @Test("a client-role node killed in a two-node cluster is downed, and the member stays up")
        func clientKilled() async throws {
            let secret = Self.secret()
            let (member, address) = try await startNode(name: "member", secret: secret, extra: ["--downing-timeout", Self.downingTimeout])
            let (client, clientAddress) = try await startNode(
                name: "client", secret: secret, extra: ["--role", "client", "--seed", "\(address)", "--downing-timeout", Self.downingTimeout])
            let observer = try await Self.observer(secret: secret)
            try await waitFor("the member sees the client up, as a client") {
                let view = (try? await observer.members(of: address)) ?? []
                return view.contains { $0.node.address == clientAddress && $0.status == .up && $0.role == .client }
            }
            client.kill()
            #expect(await client.waitForExit() != nil)
            try await waitFor("the member downs the killed client") {
                let view = (try? await observer.members(of: address)) ?? []
                return view.first { $0.node.address == clientAddress }?.status == .down
            }
            try await Task.sleep(for: .seconds(1))
            let view = try await observer.members(of: address)
            #expect(view.first { $0.node.address == address }?.status == .up, "\(view)")
            #expect(member.isRunning)
            await observer.shutdown()
            member.terminate()
            #expect(await member.waitForExit() == 0)
        }

        @Test("a node process whose only seed is downed fails its start, saying that the seed is down")
        func downedSeed() async throws {
            let secret = Self.secret()
            // An in-process pair whose younger node downs itself once the older one crashes, and stays
            // running as a downed node.
            var oldest = Self.settings(name: "oldest", secret: secret)
            oldest.membership = TestCluster.testMembership()
            oldest.membership.downing = .keepMajority(after: .milliseconds(800))
            let first = try await ClusterSystem(settings: oldest)
            var younger = oldest
            younger.name = "downed-seed"
            younger.seeds = [first.node.address]
            let seed = try await ClusterSystem(settings: younger)
            try await seed.waitForMembers(2)
            await first.simulateCrash()
            try await waitFor("the younger node downs itself") { seed.isDowned }

            do {
                let child = try await ChildProcess.launch(
                    executable: siblingExecutable(named: "kumo", override: "KUMO_BINARY"),
                    arguments: ["node", "--name", "joiner", "--port", "0", "--secret", secret, "--seed", "\(seed.node.address)"],
                    readyPrefix: "kumo node ready: ")
                child.kill()
                Issue.record("a node started through a downed seed")
            } catch let error as ChildProcessError {
                let output = error.output.joined(separator: "\n")
                #expect(output.contains("seedDown"), "\(output)")
                #expect(output.contains("downed-seed \(seed.node.address) was downed"), "\(output)")
            }
            await seed.shutdown()
        }
    }
}
