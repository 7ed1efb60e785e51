import ArgumentParser
import Kumo
import KumoGears
import Logging

/// `kumo-gears local` (the default): Christie's examples on three nodes in this process, each
/// with its own Code Gear Manager, wired by a DOT graph; every DGM of another manager is reached
/// through the cluster.
struct LocalExamples: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Christie's counting loop, a token around a ring of three nodes, and a pipeline, in this process.")

    static let ring = """
        digraph ring {
            node0 -> node1 [label="right"]
            node1 -> node2 [label="right"]
            node2 -> node0 [label="right"]
        }
        """

    func run() async throws {
        let graph = try DOTGraph(parsing: Self.ring)
        var logger = Logger(label: "kumo")
        logger.logLevel = .warning
        var systems: [ClusterSystem] = []
        var managers: [String: CodeGearManager] = [:]
        for name in graph.nodes {
            var settings = ClusterSettings(name: name, secret: "gears-example")
            settings.logger = logger
            settings.port = 0
            if let seed = systems.first { settings.seeds = [seed.node.address] }
            let system = try await ClusterSystem(settings: settings)
            systems.append(system)
            managers[name] = try CodeGearManager(name: name, system: system)
        }
        // Each manager sees its neighbours' DGMs under the edges' labels.
        for edge in graph.edges {
            guard let from = managers[edge.from], let to = managers[edge.to] else { continue }
            from.connect(edge.label, to: edge.to, on: to.system.node)
        }
        guard let first = managers["node0"] else { return }

        print("== Counting loop (a gear takes count, puts count + 1, arms the next)")
        let counted = Finished()
        first.setup(Count(limit: 5, finished: counted))
        try await first.local.put("count", 0)
        await counted.wait()

        print("== A token around the ring of \(graph.nodes.count) nodes, 3 laps")
        let laps = 3
        let lapped = Finished()
        for (name, manager) in managers {
            manager.setup(Pass(end: laps * graph.nodes.count, finished: name == "node0" ? lapped : nil))
        }
        try await first.local.put("token", 0)
        await lapped.wait()

        print("== A pipeline whose stages run on different nodes: parse on node1, square on node2, sum on node0")
        let summed = Finished()
        managers["node1"]?.setup(Parse())
        managers["node2"]?.setup(Square())
        first.setup(Sum(count: 4, total: 0, finished: summed))
        for text in ["1", "2", "3", "4"] { try await first.dgm("right").put("text", text) }
        await summed.wait()

        for manager in managers.values { await manager.close() }
        for system in systems.reversed() { await system.shutdown() }
    }
}

