import Foundation
import Kumo
import KumoTestKit
import Testing

/// A ring of OS processes: `kumo topology --graph ring.dot` and three `kumo-gears ring-node`
/// processes (both found beside the test bundle, or at $KUMO_BINARY and $KUMO_GEARS_BINARY).
@Suite("Gears across OS processes", .serialized, .timeLimit(.minutes(2)))
struct RingProcessTests {
    static let ring = """
        digraph ring {
            node0 -> node1 [label="right"]
            node1 -> node2 [label="right"]
            node2 -> node0 [label="right"]
        }
        """

    func graphFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("kumo-ring-\(UInt64.random(in: 1...UInt64.max)).dot").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func startTopology(graph: String, secret: String) async throws -> (ChildProcess, String) {
        let child = try await ChildProcess.launch(
            executable: siblingExecutable(named: "kumo", override: "KUMO_BINARY"),
            arguments: ["topology", "--port", "0", "--graph", graph, "--secret", secret, "--log-level", "warning"],
            readyPrefix: "kumo topology ready: ")
        let field = child.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }
        return (child, String(try #require(field).dropFirst("address=".count)))
    }

    func startRingNode(seed: String, secret: String, laps: Int) async throws -> ChildProcess {
        try await ChildProcess.launch(
            executable: siblingExecutable(named: "kumo-gears", override: "KUMO_GEARS_BINARY"),
            arguments: ["ring-node", "--port", "0", "--seed", seed, "--secret", secret, "--laps", "\(laps)", "--log-level", "warning"],
            readyPrefix: "kumo-gears ring-node ready: ", timeout: .seconds(30))
    }

    @Test("a token goes around a ring of three processes named and wired by kumo topology, and every node stops")
    func ringOfProcesses() async throws {
        let secret = "ring-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let graph = try graphFile(Self.ring)
        defer { try? FileManager.default.removeItem(atPath: graph) }
        let (topology, address) = try await startTopology(graph: graph, secret: secret)
        defer { topology.kill() }
        // Each ring node prints its ready line once the graph is complete: start all three.
        let nodes = try await withThrowingTaskGroup(of: ChildProcess.self) { group in
            for _ in 0..<3 {
                group.addTask { try await startRingNode(seed: address, secret: secret, laps: 50) }
                try await Task.sleep(for: .milliseconds(200))
            }
            var nodes: [ChildProcess] = []
            for try await node in group { nodes.append(node) }
            return nodes
        }
        defer { for node in nodes { node.kill() } }
        let names = nodes.map { $0.readyLine.split(separator: " ").first { $0.hasPrefix("name=") }.map(String.init) ?? "" }
        #expect(Set(names) == ["name=node0", "name=node1", "name=node2"])
        for node in nodes {
            #expect(await node.waitForExit(timeout: .seconds(30)) == 0, "\(node.outputLines.suffix(10))")
        }
        let starter = try #require(nodes.first { $0.readyLine.contains("name=node0") })
        let report = starter.outputLines.first { $0.hasPrefix("token: ") }
        #expect(report?.hasPrefix("token: 50 laps, 150 hops") == true, "\(starter.outputLines.suffix(10))")
        #expect(topology.isRunning, "the Topology Manager outlives its ring")
    }

    @Test("kumo topology refuses a DOT file with a syntax error, naming its line")
    func badGraphIsRefused() async throws {
        let graph = try graphFile("digraph ring {\n  node0 -> node1 [label=right]\n  node1 -> -> node2\n}\n")
        defer { try? FileManager.default.removeItem(atPath: graph) }
        let error = await #expect(throws: ChildProcessError.self) {
            _ = try await ChildProcess.launch(
                executable: siblingExecutable(named: "kumo", override: "KUMO_BINARY"),
                arguments: ["topology", "--port", "0", "--graph", graph, "--secret", "s"],
                readyPrefix: "kumo topology ready: ", timeout: .seconds(10))
        }
        #expect(error?.output.contains { $0.contains("line 3") } == true, "\(error?.output ?? [])")
    }
}
