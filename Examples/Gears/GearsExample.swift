import Kumo
import KumoGears
import Logging

/// Christie's examples on three nodes in this process, each with its own Code Gear Manager,
/// wired by a DOT graph; every DGM of another manager is reached through the cluster.
@main
struct GearsExample {
    static let ring = """
        digraph ring {
            node0 -> node1 [label="right"]
            node1 -> node2 [label="right"]
            node2 -> node0 [label="right"]
        }
        """

    static func main() async throws {
        let graph = try DOTGraph(parsing: ring)
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

/// Christie's counting loop.
struct Count: CodeGear {
    @Take("count") var count: Int
    let limit: Int
    let finished: Finished

    func run(_ cgm: CodeGearManager) async throws {
        print("  \(cgm.name) counted \(count)")
        guard count < limit else { return finished.fire() }
        try await cgm.local.put("count", count + 1)
        cgm.setup(Count(limit: limit, finished: finished))
    }
}

/// Takes the token and puts it, plus one, to the right.
struct Pass: CodeGear {
    @Take("token") var token: Int
    let end: Int
    let finished: Finished?

    func run(_ cgm: CodeGearManager) async throws {
        guard token < end else {
            print("  the token came back to \(cgm.name) after \(token) hops")
            finished?.fire()
            return
        }
        if token % 3 == 0 { print("  lap \(token / 3 + 1) starts at \(cgm.name)") }
        try await cgm.dgm("right").put("token", token + 1)
        cgm.setup(Pass(end: end, finished: finished))
    }
}

/// Stage 1 (node1): text to a number, to the right.
struct Parse: CodeGear {
    @Take("text") var text: String

    func run(_ cgm: CodeGearManager) async throws {
        try await cgm.dgm("right").put("number", Int(text) ?? 0)
        cgm.setup(Parse())
    }
}

/// Stage 2 (node2): the square, to the right.
struct Square: CodeGear {
    @Take("number") var number: Int

    func run(_ cgm: CodeGearManager) async throws {
        print("  \(cgm.name) squares \(number)")
        try await cgm.dgm("right").put("square", number * number)
        cgm.setup(Square())
    }
}

/// Stage 3 (node0): the running sum, until `count` squares have come.
struct Sum: CodeGear {
    @Take("square") var square: Int
    let count: Int
    let total: Int
    let finished: Finished

    func run(_ cgm: CodeGearManager) async throws {
        let total = self.total + square
        guard count > 1 else {
            print("  \(cgm.name): the sum of the squares is \(total)")
            return finished.fire()
        }
        cgm.setup(Sum(count: count - 1, total: total, finished: finished))
    }
}
