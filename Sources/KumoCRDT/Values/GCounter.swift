/// A counter that only grows: each replica counts its own increments, and the value is their sum.
public struct GCounter: CRDT, CustomStringConvertible {
    /// Each replica's own count.
    public private(set) var counts: [ReplicaID: UInt64] = [:]

    public init() {}

    /// The count.
    public var value: UInt64 { counts.values.reduce(0, &+) }

    /// Adds `amount` for `replica`; returns the delta (that replica's new count).
    @discardableResult
    public mutating func increment(by amount: UInt64 = 1, at replica: ReplicaID) -> GCounter {
        let count = counts[replica, default: 0] &+ amount
        counts[replica] = count
        var delta = GCounter()
        delta.counts[replica] = count
        return delta
    }

    public mutating func merge(_ other: GCounter) {
        counts.merge(other.counts) { Swift.max($0, $1) }
    }

    /// Forgets what `replica` counted (for pruning a removed node, once its count is folded into
    /// another replica's).
    mutating func remove(_ replica: ReplicaID) -> UInt64 {
        counts.removeValue(forKey: replica) ?? 0
    }

    public var description: String { "GCounter(\(value))" }
}
