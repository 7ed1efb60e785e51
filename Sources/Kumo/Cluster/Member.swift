import KumoCore

/// A node's place in the cluster's lifecycle, as every node eventually agrees on it.
///
/// Statuses only move forward: `joining → up → leaving → removed`, or to `down` from any of the
/// first three. Merging two views keeps, for each node, the furthest status, so views converge
/// whatever order gossip arrives in.
public enum MemberStatus: UInt8, Sendable, Codable, Comparable, CustomStringConvertible {
    /// Announced itself, not yet up.
    case joining = 0
    /// A full member.
    case up = 1
    /// Leaving gracefully (SIGTERM or ``ClusterSystem/leave()``).
    case leaving = 2
    /// Declared dead by the failure detector and the downing strategy. Terminal for this
    /// incarnation: to come back, a node restarts as a new incarnation.
    case down = 3
    /// Left gracefully. Terminal.
    case removed = 4

    public static func < (lhs: MemberStatus, rhs: MemberStatus) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .joining: "joining"
        case .up: "up"
        case .leaving: "leaving"
        case .down: "down"
        case .removed: "removed"
        }
    }

    /// Whether the node is gone for good.
    public var isTerminal: Bool { self >= .down }
}

/// Whether this node can currently reach a member, by its own failure detector.
public enum Reachability: UInt8, Sendable, Codable, CustomStringConvertible {
    case reachable = 0
    case unreachable = 1

    public var description: String { self == .reachable ? "reachable" : "unreachable" }
}

/// One node of the cluster as this node sees it.
public struct Member: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The node's identity.
    public var node: NodeID
    /// The node's name.
    public var name: String
    /// Its lifecycle status.
    public var status: MemberStatus
    /// Whether this node's failure detector reaches it (always `reachable` for itself).
    public var reachability: Reachability

    public init(node: NodeID, name: String, status: MemberStatus, reachability: Reachability = .reachable) {
        self.node = node
        self.name = name
        self.status = status
        self.reachability = reachability
    }

    public var description: String { "\(name) \(node) \(status) \(reachability)" }
}
