import KumoCore

/// A node's place in the cluster's lifecycle, as every node eventually agrees on it.
///
/// Statuses only move forward: `joining → up → leaving → removed`, or to `down` from any of the
/// first three. Merging two views keeps, for each node, the furthest status, so views converge
/// whatever order gossip arrives in.
public enum MemberStatus: UInt8, Sendable, Codable, Comparable, CaseIterable, CustomStringConvertible {
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

/// What part a node plays in the cluster.
///
/// A struct over a private enum, so roles can be added without breaking anyone.
public struct NodeRole: Sendable, Hashable, Codable, CustomStringConvertible {
    private enum Value: UInt8, Sendable, Codable {
        case member = 0
        case client = 1
    }
    private let value: Value

    /// A full member (the default): it counts in majority decisions and may host the add-on
    /// modules' shards and replicas.
    public static let member = NodeRole(value: .member)
    /// A client node, for drivers and tools: it calls, hosts actors, registers and watches like
    /// any node, but it does not count in majority decisions, hosts no shards or replicas, downs
    /// nobody but itself, and when it is unreachable the others down it without any effect on
    /// themselves.
    public static let client = NodeRole(value: .client)

    private init(value: Value) { self.value = value }

    /// The role named `name` (`member` or `client`), or `nil`.
    public init?(named name: String) {
        switch name {
        case "member": self = .member
        case "client": self = .client
        default: return nil
        }
    }

    public var description: String {
        switch value {
        case .member: "member"
        case .client: "client"
        }
    }
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
    /// The part the node plays (set by the node itself when it joins).
    public var role: NodeRole
    /// The order in which members became up, as the member that let each one in counted it: the
    /// founder of a cluster is 1, and each node a seed admits gets one more than the highest
    /// number the seed knows of. Lower is older; 0 means not up yet. Downing breaks ties in
    /// favour of the oldest member (``isOlder(than:)``).
    public var upNumber: UInt64

    public init(
        node: NodeID, name: String, status: MemberStatus, reachability: Reachability = .reachable,
        role: NodeRole = .member, upNumber: UInt64 = 0
    ) {
        self.node = node
        self.name = name
        self.status = status
        self.reachability = reachability
        self.role = role
        self.upNumber = upNumber
    }

    /// Whether this member became up before `other`: the lower up number, then the lower
    /// identity (two clusters that merged may have counted the same numbers). A member not yet
    /// up is younger than every member that is.
    public func isOlder(than other: Member) -> Bool {
        let mine = upNumber == 0 ? UInt64.max : upNumber
        let theirs = other.upNumber == 0 ? UInt64.max : other.upNumber
        return (mine, node) < (theirs, other.node)
    }

    public var description: String {
        "\(name) \(node) \(status) \(reachability)" + (role == .member ? "" : " \(role)")
    }
}
