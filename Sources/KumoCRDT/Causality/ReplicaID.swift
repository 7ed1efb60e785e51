import Kumo

/// Who made a change: one node incarnation, as a 64-bit number (a node that restarts is a new
/// replica, so its new changes never collide with those it made before).
public struct ReplicaID: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// The number.
    public let rawValue: UInt64

    /// A replica with the number `rawValue`.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The replica of a node incarnation: an FNV-1a hash of its address and incarnation, the same
    /// on every node.
    public init(_ node: NodeID) {
        var hash = FNV1a()
        hash.add(node.address.host)
        hash.add(UInt64(node.address.port))
        hash.add(node.incarnation)
        rawValue = hash.value
    }

    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue, radix: 16) }

    // One number on the wire, not a keyed container.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
