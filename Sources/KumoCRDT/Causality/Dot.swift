/// One change: the `counter`-th change made by `replica`.
public struct Dot: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// Who made it.
    public let replica: ReplicaID
    /// Its number among that replica's changes, from 1.
    public let counter: UInt64

    /// The `counter`-th change of `replica`.
    public init(_ replica: ReplicaID, _ counter: UInt64) {
        self.replica = replica
        self.counter = counter
    }

    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        (lhs.replica, lhs.counter) < (rhs.replica, rhs.counter)
    }

    public var description: String { "\(replica):\(counter)" }

    // Two numbers on the wire, not a keyed container.
    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        replica = ReplicaID(rawValue: try container.decode(UInt64.self))
        counter = try container.decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(replica.rawValue)
        try container.encode(counter)
    }
}
