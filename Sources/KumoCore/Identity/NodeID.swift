/// One run of a node: its address plus an incarnation number chosen at random when the node starts.
///
/// Two processes that listen on the same address one after the other have different incarnations,
/// so a reference to an actor of the first never reaches the second by accident.
public struct NodeID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// Where the node listens.
    public var address: NodeAddress
    /// A random number fixed for the lifetime of the node (never 0).
    public var incarnation: UInt64

    /// Creates a node identity.
    public init(address: NodeAddress, incarnation: UInt64) {
        self.address = address
        self.incarnation = incarnation
    }

    /// A fresh random, non-zero incarnation number.
    public static func randomIncarnation() -> UInt64 {
        var value: UInt64 = 0
        while value == 0 { value = UInt64.random(in: 1...UInt64.max) }
        return value
    }

    public var description: String {
        "\(address)#\(String(incarnation, radix: 16))"
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.address, lhs.incarnation) < (rhs.address, rhs.incarnation)
    }
}
