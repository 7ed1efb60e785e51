import Kumo

/// Which node runs a job.
public struct PlacementStrategy: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case roundRobin, random, leastLoaded, costAware, local
        case pinned(NodeID)
    }
    let kind: Kind

    /// Each node in turn.
    public static let roundRobin = PlacementStrategy(kind: .roundRobin)
    /// A node picked at random.
    public static let random = PlacementStrategy(kind: .random)
    /// The node with the fewest jobs running and queued, from the nodes' recent reports and the
    /// calls this node has sent since.
    public static let leastLoaded = PlacementStrategy(kind: .leastLoaded)
    /// The node with the most room for the job's cost under its declared capacity; a job
    /// heavier than any node's room goes where there is most room.
    public static let costAware = PlacementStrategy(kind: .costAware)
    /// This node.
    public static let local = PlacementStrategy(kind: .local)
    /// The given node.
    public static func pinned(_ node: NodeID) -> PlacementStrategy { PlacementStrategy(kind: .pinned(node)) }

    public var description: String {
        switch kind {
        case .roundRobin: "round-robin"
        case .random: "random"
        case .leastLoaded: "least-loaded"
        case .costAware: "cost-aware"
        case .local: "local"
        case .pinned(let node): "pinned to \(node)"
        }
    }
}
