import Kumo

/// The Topology Manager's logic as a value: which name each joining Code Gear Manager gets, and
/// which DGMs of other managers each one sees under which labels. No I/O: the
/// ``TopologyManager`` around it sends what the plan says.
///
/// Names go in join order. With a DOT graph they are the graph's node names in the order they
/// first appear, and a manager sees its graph neighbours under the edges' labels; a graph of N
/// nodes takes N managers. Without a graph the managers form a tree of the given fan-out:
/// `node0` is the root, `nodeK`'s parent is `node((K-1)/fanOut)`, which it sees as `"parent"`,
/// and a parent sees its children as `"child0"`, `"child1"`, …. When a manager's node is gone its
/// name is free again, and the next manager to join takes the lowest free name, with its links.
public struct TopologyPlan: Sendable, Equatable {
    /// How the managers are linked.
    public enum Shape: Sendable, Equatable {
        /// The nodes and labelled edges of a DOT graph.
        case graph(DOTGraph)
        /// A tree in which each manager has at most `fanOut` children.
        case tree(fanOut: Int)
    }

    /// A manager in the topology: its own name (its DGM is `kumo.gears.<manager>`) on its node.
    public struct Occupant: Sendable, Hashable, Codable {
        public var manager: String
        public var node: NodeID

        public init(manager: String, node: NodeID) {
            self.manager = manager
            self.node = node
        }
    }

    /// A DGM a manager sees: the label it knows it by, and the manager and node behind it.
    public struct Link: Sendable, Hashable, Codable {
        public var label: String
        /// The topology name of the manager behind the label (`node1`).
        public var name: String
        public var target: Occupant
    }

    /// Why a manager cannot join.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Every name of the graph is held.
        case full(nodes: Int)

        public var description: String {
            switch self {
            case .full(let nodes): "the topology is full: its graph has \(nodes) nodes, and each is held by a manager"
            }
        }
    }

    /// The shape.
    public let shape: Shape
    /// The slot each name is held by, by slot number (the join order).
    public private(set) var occupants: [Int: Occupant] = [:]

    /// A plan for `shape`.
    /// - Throws: ``DOTGraph/SyntaxError`` when a graph node has two edges of one label, or uses
    ///   the label `local` (the manager's own DGM); a fan-out below 1 is taken as 1.
    public init(_ shape: Shape) throws(DOTGraph.SyntaxError) {
        switch shape {
        case .graph(let graph):
            for node in graph.nodes {
                var seen: Set<String> = []
                for (label, _) in graph.neighbours(of: node) {
                    guard label != "local" else {
                        throw DOTGraph.SyntaxError(line: 0, message: "node \(node): the label 'local' names a manager's own DGM")
                    }
                    guard seen.insert(label).inserted else {
                        throw DOTGraph.SyntaxError(line: 0, message: "node \(node) has two edges labelled '\(label)'")
                    }
                }
            }
            self.shape = shape
        case .tree(let fanOut):
            self.shape = .tree(fanOut: max(1, fanOut))
        }
    }

    /// How many managers the topology takes (`nil`: any number).
    public var capacity: Int? {
        if case .graph(let graph) = shape { return graph.nodes.count }
        return nil
    }

    /// Whether every name of the graph is held (a tree is always complete).
    public var isComplete: Bool {
        capacity.map { occupants.count == $0 } ?? true
    }

    /// The name of slot `slot`.
    public func name(ofSlot slot: Int) -> String {
        if case .graph(let graph) = shape, slot < graph.nodes.count { return graph.nodes[slot] }
        return "node\(slot)"
    }

    /// The name `occupant` holds, if any.
    public func name(of occupant: Occupant) -> String? {
        slot(of: occupant).map(name(ofSlot:))
    }

    /// The slots of the managers on `node`.
    public func slots(on node: NodeID) -> [Int] {
        occupants.filter { $0.value.node == node }.map(\.key).sorted()
    }

    /// Admits `occupant` under the lowest free name and returns its slot and the slots whose
    /// links changed (its own and its neighbours'). A manager already admitted keeps its name
    /// and changes nothing.
    /// - Throws: ``Refusal`` when the graph is full.
    public mutating func admit(_ occupant: Occupant) throws(Refusal) -> (slot: Int, changed: [Int]) {
        if let slot = slot(of: occupant) { return (slot, []) }
        var slot = 0
        while occupants[slot] != nil { slot += 1 }
        if let capacity, slot >= capacity { throw .full(nodes: capacity) }
        occupants[slot] = occupant
        return (slot, [slot] + neighbourSlots(of: slot).filter { occupants[$0] != nil })
    }

    /// Frees the names held by managers on `node` and returns the slots whose links changed.
    public mutating func remove(node: NodeID) -> [Int] {
        let changed = slots(on: node).flatMap { release(slot: $0) }
        return Set(changed).filter { occupants[$0] != nil }.sorted()
    }

    /// Frees the name of `slot` and returns the slots whose links changed.
    public mutating func release(slot: Int) -> [Int] {
        guard occupants.removeValue(forKey: slot) != nil else { return [] }
        return neighbourSlots(of: slot).filter { occupants[$0] != nil }
    }

    /// The DGMs the manager in `slot` sees now: one link per neighbour whose name is held.
    public func links(ofSlot slot: Int) -> [Link] {
        outgoing(of: slot).compactMap { label, target in
            occupants[target].map { Link(label: label, name: name(ofSlot: target), target: $0) }
        }
    }

    // MARK: Shape

    private func slot(of occupant: Occupant) -> Int? {
        occupants.first { $0.value == occupant }?.key
    }

    /// The labels the manager in `slot` sees its neighbours' slots under, held or not.
    private func outgoing(of slot: Int) -> [(label: String, slot: Int)] {
        switch shape {
        case .graph(let graph):
            guard slot < graph.nodes.count else { return [] }
            return graph.neighbours(of: graph.nodes[slot]).compactMap { label, node in
                graph.nodes.firstIndex(of: node).map { (label, $0) }
            }
        case .tree(let fanOut):
            var result: [(String, Int)] = []
            if slot > 0 { result.append(("parent", (slot - 1) / fanOut)) }
            for child in 0..<fanOut { result.append(("child\(child)", slot * fanOut + 1 + child)) }
            return result
        }
    }

    /// The slots linked with `slot` in either direction.
    private func neighbourSlots(of slot: Int) -> [Int] {
        var result = Set(outgoing(of: slot).map(\.slot))
        switch shape {
        case .graph(let graph):
            guard slot < graph.nodes.count else { break }
            let name = graph.nodes[slot]
            for edge in graph.edges where edge.to == name {
                if let from = graph.nodes.firstIndex(of: edge.from) { result.insert(from) }
            }
        case .tree(let fanOut):
            for child in 0..<fanOut { result.insert(slot * fanOut + 1 + child) }
        }
        result.remove(slot)
        return result.sorted()
    }
}
