import Foundation
import Kumo
import KumoCore
import KumoTestKit
import Logging
import Testing

extension ClusterTimingTests {
    @Suite("Discovery: static seeds, DNS names, the control node, multicast", .serialized, .timeLimit(.minutes(3)))
    struct DiscoveryTests {
        func settings(_ name: String, _ configure: (inout ClusterSettings) -> Void = { _ in }) -> ClusterSettings {
            var settings = ClusterSettings(name: name, secret: "discovery-test")
            settings.membership = TestCluster.testMembership()
            settings.logger.logLevel = .critical
            configure(&settings)
            return settings
        }

        @Test("nodes find each other through a DNS name that resolves to the seed")
        func dnsDiscovery() async throws {
            let seed = try await ClusterSystem(settings: settings("seed"))
            let port = seed.node.address.port
            let joiner = try await ClusterSystem(settings: settings("joiner") { $0.discovery = .dns("localhost", port: port) })
            try await joiner.waitForMembers(2)
            try await seed.waitForMembers(2)
            await joiner.shutdown()
            await seed.shutdown()
        }

        @Test("a joining node with an unreachable seed starts a cluster of its own")
        func unreachableSeed() async throws {
            let port = try await freePort()
            let lonely = try await ClusterSystem(settings: settings("lonely") {
                $0.seeds = [NodeAddress(host: "127.0.0.1", port: port)]
                $0.membership.joinAttemptsBeforeAlone = 3
            })
            try await lonely.waitForMembers(1)
            await lonely.shutdown()
        }

        @Test("nodes announcing themselves by UDP multicast form one cluster")
        func multicastDiscovery() async throws {
            var configuration = MulticastDiscovery.Configuration()
            configuration.port = 17_946 + Int.random(in: 0..<1000)
            configuration.interval = .milliseconds(200)
            var systems: [ClusterSystem] = []
            do {
                for name in ["m1", "m2", "m3"] {
                    systems.append(try await ClusterSystem(settings: settings(name) {
                        $0.discovery = .multicast(configuration)
                        $0.membership.joinAttemptsBeforeAlone = 3
                    }))
                }
            } catch {
                for system in systems { await system.shutdown() }
                // Some sandboxes have no multicast route; say so instead of failing.
                print("multicast discovery skipped: this machine does not allow UDP multicast (\(error))")
                return
            }
            for system in systems { try await system.waitForMembers(3, timeout: .seconds(20)) }
            for system in systems { await system.shutdown() }
        }

        @Test("kumo control: nodes join through it, kumo status lists them, and the cluster outlives it")
        func controlNodeAndStatus() async throws {
            let secret = "control-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
            let kumo = siblingExecutable(named: "kumo", override: "KUMO_BINARY")
            let control = try await ChildProcess.launch(
                executable: kumo, arguments: ["control", "--port", "0", "--secret", secret, "--log-level", "error"],
                readyPrefix: "kumo control ready: ")
            let field = control.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }
            let controlAddress = try #require(field.map { String($0.dropFirst("address=".count)) })
            var nodes: [ChildProcess] = []
            for name in ["a", "b"] {
                nodes.append(try await ChildProcess.launch(
                    executable: kumo,
                    arguments: ["node", "--name", name, "--port", "0", "--seed", controlAddress, "--secret", secret, "--log-level", "error"],
                    readyPrefix: "kumo node ready: "))
            }
            let bAddress = try #require(nodes[1].readyLine.split(separator: " ").first { $0.hasPrefix("address=") }
                .map { String($0.dropFirst("address=".count)) })

            var lines: [String] = []
            for _ in 0..<50 {
                let (code, output) = try await statusOutput(kumo, controlAddress, secret)
                lines = output
                if code == 0, lines.count == 3, lines.allSatisfy({ $0.contains(" up ") }) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(lines.count == 3, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("control") } && lines.contains { $0.hasPrefix("a ") } && lines.contains { $0.hasPrefix("b ") })

            let (badCode, badOutput) = try await statusOutput(kumo, controlAddress, "wrong-secret")
            #expect(badCode != 0)
            #expect(badOutput.joined().contains("authentication failed"))

            // SIGKILL a: the others mark it down (default downing: keep the majority after 4 s).
            nodes[0].kill()
            var afterKill: [String] = []
            for _ in 0..<80 {
                afterKill = try await statusOutput(kumo, controlAddress, secret).1
                if afterKill.contains(where: { $0.hasPrefix("a ") && $0.contains(" down ") }) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(afterKill.contains { $0.hasPrefix("a ") && $0.contains(" down ") }, "\(afterKill)")

            // The control node leaves; b carries on without it.
            control.terminate()
            #expect(await control.waitForExit() == 0)
            var afterwards: [String] = []
            for _ in 0..<50 {
                afterwards = try await statusOutput(kumo, bAddress, secret).1
                if afterwards.contains(where: { $0.hasPrefix("control") && $0.contains("removed") }) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(afterwards.contains { $0.hasPrefix("b ") && $0.contains(" up ") }, "\(afterwards)")
            #expect(afterwards.contains { $0.hasPrefix("control") && $0.contains("removed") }, "\(afterwards)")
            nodes[1].terminate()
            #expect(await nodes[1].waitForExit() == 0)
        }
    }
}

/// Runs `kumo status` and returns its exit status and output lines.
func statusOutput(_ kumo: String, _ seed: String, _ secret: String) async throws -> (Int32?, [String]) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: kumo)
    process.arguments = ["status", "--seed", seed, "--secret", secret, "--timeout", "3"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = await Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }.value
    process.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    return (process.terminationStatus, lines)
}
