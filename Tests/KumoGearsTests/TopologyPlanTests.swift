import Kumo
import Testing

@testable import KumoGears

@Suite("Topology plan")
struct TopologyPlanTests {
    static let ring = """
        digraph ring {
            node0 -> node1 [label="right"]
            node1 -> node2 [label="right"]
            node2 -> node0 [label="right"]
            node1 -> node0 [label="left"]
        }
        """

    func occupant(_ index: Int) -> TopologyPlan.Occupant {
        TopologyPlan.Occupant(manager: "m\(index)", node: NodeID(address: NodeAddress(host: "127.0.0.1", port: 7000 + index), incarnation: 1))
    }

    @Test("a graph's names go in join order, each manager sees the neighbours that have joined")
    func graphInJoinOrder() throws {
        var plan = try TopologyPlan(.graph(DOTGraph(parsing: Self.ring)))
        #expect(plan.capacity == 3)
        let first = try plan.admit(occupant(0))
        #expect(first.slot == 0 && plan.name(ofSlot: 0) == "node0")
        #expect(plan.links(ofSlot: 0).isEmpty)
        #expect(!plan.isComplete)
        let second = try plan.admit(occupant(1))
        #expect(second.slot == 1 && second.changed == [1, 0])
        #expect(plan.links(ofSlot: 1).map(\.label).sorted() == ["left"])
        #expect(plan.links(ofSlot: 0).map(\.label) == ["right"])
        _ = try plan.admit(occupant(2))
        #expect(plan.isComplete)
        #expect(plan.links(ofSlot: 0).map { "\($0.label)=\($0.name)" } == ["right=node1"])
        #expect(plan.links(ofSlot: 1).map { "\($0.label)=\($0.name)" }.sorted() == ["left=node0", "right=node2"])
        #expect(plan.links(ofSlot: 2).map { "\($0.label)=\($0.target.manager)" } == ["right=m0"])
        #expect(throws: TopologyPlan.Refusal.full(nodes: 3)) { try plan.admit(occupant(3)) }
        // A manager admitted twice keeps its name and changes nothing.
        #expect(try plan.admit(occupant(1)) == (1, []))
    }

    @Test("a name freed by a node that died goes to the next manager, with its links")
    func freedNameIsReused() throws {
        var plan = try TopologyPlan(.graph(DOTGraph(parsing: Self.ring)))
        for index in 0..<3 { _ = try plan.admit(occupant(index)) }
        let changed = plan.remove(node: occupant(1).node)
        #expect(changed == [0, 2], "node0 saw node1 (right), node1 saw node2")
        #expect(!plan.isComplete)
        #expect(plan.links(ofSlot: 0).isEmpty)
        let again = try plan.admit(occupant(9))
        #expect(again.slot == 1 && plan.name(of: occupant(9)) == "node1")
        #expect(plan.links(ofSlot: 0).map(\.target) == [occupant(9)])
        #expect(plan.isComplete)
    }

    @Test("without a graph, managers form a tree of the given fan-out")
    func dynamicTree() throws {
        var plan = try TopologyPlan(.tree(fanOut: 2))
        #expect(plan.capacity == nil && plan.isComplete)
        for index in 0..<6 { #expect(try plan.admit(occupant(index)).slot == index) }
        func links(_ slot: Int) -> [String] { plan.links(ofSlot: slot).map { "\($0.label)=\($0.name)" } }
        #expect(links(0) == ["child0=node1", "child1=node2"])
        #expect(links(1) == ["parent=node0", "child0=node3", "child1=node4"])
        #expect(links(2) == ["parent=node0", "child0=node5"])
        #expect(links(5) == ["parent=node2"])
        var wide = try TopologyPlan(.tree(fanOut: 3))
        for index in 0..<5 { _ = try wide.admit(occupant(index)) }
        #expect(wide.links(ofSlot: 0).map(\.name) == ["node1", "node2", "node3"])
        #expect(wide.links(ofSlot: 4).map { "\($0.label)=\($0.name)" } == ["parent=node1"])
        // A joining child changes its parent's links.
        var grown = try TopologyPlan(.tree(fanOut: 2))
        _ = try grown.admit(occupant(0))
        #expect(try grown.admit(occupant(1)).changed == [1, 0])
    }

    @Test("a graph with two edges of one label from a node, or the label local, is refused")
    func ambiguousLabels() throws {
        let twice = try DOTGraph(parsing: "digraph { a -> b [label=x]; a -> c [label=x] }")
        #expect(throws: DOTGraph.SyntaxError.self) { try TopologyPlan(.graph(twice)) }
        let local = try DOTGraph(parsing: "digraph { a -> b [label=local] }")
        #expect(throws: DOTGraph.SyntaxError.self) { try TopologyPlan(.graph(local)) }
    }
}
