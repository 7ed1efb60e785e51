import Kumo
import KumoTestKit
import Synchronization
import Testing

@testable import KumoGears

/// Passes a token on to the DGM `next` until it reaches `end`; the last one records it.
struct Hop: CodeGear {
    @Take("token") var token: Int
    let next: String
    let end: Int
    let arrived: Mutex<[String]>.Shared

    func run(_ cgm: CodeGearManager) async throws {
        arrived.value.withLock { $0.append("\(cgm.name):\(token)") }
        guard token < end else { return }
        try await cgm.dgm(next).put("token", token + 1)
        cgm.setup(Hop(next: next, end: end, arrived: arrived))
    }
}

@Suite("Topology Manager", .timeLimit(.minutes(1)))
struct TopologyTests {
    static let ring = """
        digraph ring {
            node0 -> node1 [label="right"]
            node1 -> node2 [label="right"]
            node2 -> node0 [label="right"]
        }
        """

    @Test("managers that join a graph get its names in join order and see their neighbours under the edges' labels")
    func ringFromGraph() async throws {
        let cluster = try await TestCluster.start(nodes: 4)
        let topology = try await TopologyManager(.graph(DOTGraph(parsing: Self.ring)), system: cluster.nodes[0])
        var managers: [CodeGearManager] = []
        for index in 1...3 { managers.append(try CodeGearManager(name: "worker", system: cluster.nodes[index])) }
        // Joins return once the graph is complete: join all three concurrently, in order.
        let names = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, manager) in managers.enumerated() {
                group.addTask { (index, try await manager.join(topology: cluster.nodes[0].node.address).name) }
                // The next joins once this one has its name: the order is the test's, not the load's.
                try await eventually("manager \(index) has its name") { await topology.assignments().count == index + 1 }
            }
            var names: [Int: String] = [:]
            for try await (index, name) in group { names[index] = name }
            return names
        }
        #expect(names == [0: "node0", 1: "node1", 2: "node2"])
        for manager in managers {
            #expect(manager.remoteNames == ["right"])
            #expect(manager.topologies.first?.isComplete == true)
        }
        #expect(await topology.assignments()["node2"]?.node == cluster.nodes[3].node)
        // A token twice around the ring.
        let arrived = Mutex<[String]>.Shared([])
        for manager in managers { manager.setup(Hop(next: "right", end: 6, arrived: arrived)) }
        try await managers[0].local.put("token", 0)
        try await eventually("the token went around twice") { arrived.value.withLock { $0.count } == 7 }
        let path = arrived.value.withLock { $0 }
        #expect(path.prefix(4).map { $0.split(separator: ":")[1] } == ["0", "1", "2", "3"])
        for manager in managers { await manager.close() }
        await topology.close()
        await cluster.shutdown()
    }

    @Test("without a graph, managers form a tree: a value climbs from a leaf to the root through parent")
    func dynamicTree() async throws {
        let cluster = try await TestCluster.start(nodes: 6)
        let topology = try await TopologyManager(.tree(fanOut: 2), system: cluster.nodes[0])
        var managers: [CodeGearManager] = []
        for index in 1...5 {
            let manager = try CodeGearManager(name: "m\(index)", system: cluster.nodes[index])
            #expect(try await manager.join(topology: cluster.nodes[0].node.address).name == "node\(index - 1)")
            managers.append(manager)
        }
        try await eventually("the root sees both children") { managers[0].remoteNames == ["child0", "child1"] }
        try await eventually("node1 sees its parent and two children") { managers[1].remoteNames == ["child0", "child1", "parent"] }
        #expect(managers[4].remoteNames == ["parent"])
        // node4 -> node1 -> node0
        let arrived = Mutex<[String]>.Shared([])
        managers[4].setup(Hop(next: "parent", end: 2, arrived: arrived))
        managers[1].setup(Hop(next: "parent", end: 2, arrived: arrived))
        managers[0].setup(Hop(next: "parent", end: 2, arrived: arrived))
        try await managers[4].local.put("token", 0)
        try await eventually("the value reached the root") { arrived.value.withLock { $0 } == ["m5:0", "m2:1", "m1:2"] }
        for manager in managers { await manager.close() }
        await topology.close()
        await cluster.shutdown()
    }

    @Test("a manager joins two Topology Managers, holds a name in each, and keeps their labels apart by prefix")
    func severalTopologies() async throws {
        let cluster = try await TestCluster.start(nodes: 3)
        let privateTopology = try await TopologyManager(.tree(fanOut: 2), name: "private", system: cluster.nodes[0])
        let globalTopology = try await TopologyManager(.tree(fanOut: 2), name: "global", system: cluster.nodes[1])
        let a = try CodeGearManager(name: "a", system: cluster.nodes[1])
        let b = try CodeGearManager(name: "b", system: cluster.nodes[2])
        let c = try CodeGearManager(name: "c", system: cluster.nodes[2])
        // Private: a is node0, b node1. Global: c is node0, b node1.
        try await a.join(topology: cluster.nodes[0].node.address, named: "private")
        try await b.join(topology: cluster.nodes[0].node.address, named: "private")
        try await c.join(topology: cluster.nodes[1].node.address, named: "global", prefix: "global.")
        let global = try await b.join(topology: cluster.nodes[1].node.address, named: "global", prefix: "global.")
        #expect(global.name == "node1" && global.labels == ["global.parent"])
        #expect(b.topologies.map(\.name) == ["node1", "node1"])
        #expect(b.remoteNames == ["global.parent", "parent"])
        // The same prefix twice is refused, naming the topology joined first.
        let d = try CodeGearManager(name: "d", system: cluster.nodes[2])
        try await d.join(topology: cluster.nodes[0].node.address, named: "private")
        await #expect(throws: GearError.self) {
            try await d.join(topology: cluster.nodes[1].node.address, named: "global")
        }
        // Each parent link leads to its own topology's root.
        try await b.dgm("parent").put("x", 1)
        try await b.dgm("global.parent").put("x", 2)
        #expect(try await a.local.take("x") as Int == 1)
        #expect(try await c.local.take("x") as Int == 2)
        // An unknown Topology Manager name is a clear error.
        let e = try CodeGearManager(name: "e", system: cluster.nodes[2])
        let error = await #expect(throws: GearError.self) {
            try await e.join(topology: cluster.nodes[0].node.address, named: "nobody", timeout: .seconds(5))
        }
        #expect(error?.code == .topology && error?.message.contains("nobody") == true)
        for manager in [a, b, c, d, e] { await manager.close() }
        await privateTopology.close()
        await globalTopology.close()
        await cluster.shutdown()
    }

    @Test("a full graph refuses the next manager; a node that dies frees its name for a newcomer")
    func deathFreesTheName() async throws {
        let cluster = try await TestCluster.start(nodes: 5, downAfter: .seconds(3))
        let pair = "digraph { node0 -> node1 [label=right]; node1 -> node0 [label=right] }"
        let topology = try await TopologyManager(.graph(DOTGraph(parsing: pair)), system: cluster.nodes[0])
        let address = cluster.nodes[0].node.address
        let first = try CodeGearManager(name: "first", system: cluster.nodes[1])
        let second = try CodeGearManager(name: "second", system: cluster.nodes[2])
        async let joinedFirst = first.join(topology: address)
        try await eventually("the first has its name") { await topology.assignments().count == 1 }
        #expect(try await second.join(topology: address).name == "node1")
        #expect(try await joinedFirst.name == "node0")
        let third = try CodeGearManager(name: "third", system: cluster.nodes[3])
        let refused = await #expect(throws: GearError.self) { try await third.join(topology: address) }
        #expect(refused?.message.contains("full") == true)

        await cluster.kill(2)
        try await eventually("node0 no longer sees the dead node1") { first.remoteNames.isEmpty }
        #expect(first.topologies.first?.isComplete == false)
        #expect(try await third.join(topology: address).name == "node1")
        try await eventually("node0 sees the newcomer") { first.remoteNames == ["right"] }
        try await first.dgm("right").put("hello", "again")
        #expect(try await third.local.take("hello") as String == "again")
        for manager in [first, third] { await manager.close() }
        await topology.close()
        await cluster.shutdown()
    }

    @Test("a node outside the Topology Manager's cluster is told to join it first")
    func outsideTheCluster() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let outsider = try await TestCluster.start(nodes: 1)
        let topology = try await TopologyManager(.tree(fanOut: 2), system: cluster.nodes[0])
        let manager = try CodeGearManager(name: "lonely", system: outsider.nodes[0])
        let error = await #expect(throws: GearError.self) {
            try await manager.join(topology: cluster.nodes[0].node.address, timeout: .milliseconds(500))
        }
        #expect(error?.message.contains("--seed") == true)
        #expect(manager.topologies.isEmpty)
        await manager.close()
        await topology.close()
        await outsider.shutdown()
        await cluster.shutdown()
    }
}
