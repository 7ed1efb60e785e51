import Kumo

/// A Topology Manager, as the managers that join it know it: its name on its node.
public struct TopologyID: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The Topology Manager's name (a node may run several).
    public var name: String
    /// The node it runs on.
    public var node: NodeID

    public init(name: String, node: NodeID) {
        self.name = name
        self.node = node
    }

    public var description: String { "topology \(name) on \(node)" }
}

/// What a Topology Manager tells a Code Gear Manager it placed: its name there, every DGM it
/// sees now, and whether every name of the graph is held. Each update carries the whole state,
/// numbered, so one that arrives late is recognised and dropped.
struct TopologyUpdate: Sendable, Codable {
    var topology: TopologyID
    var version: UInt64
    var name: String
    var links: [TopologyPlan.Link]
    var complete: Bool
}
