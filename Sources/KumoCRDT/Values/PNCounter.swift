/// A counter that goes up and down: two grow-only counters, one for increments and one for
/// decrements (Cusinart's `CounterCRDT`).
public struct PNCounter: CRDT, CustomStringConvertible {
    /// The increments.
    public private(set) var increments = GCounter()
    /// The decrements.
    public private(set) var decrements = GCounter()

    public init() {}

    /// The count: increments minus decrements.
    public var value: Int64 {
        Int64(bitPattern: increments.value &- decrements.value)
    }

    /// Adds `amount` (which may be negative) for `replica`; returns the delta.
    @discardableResult
    public mutating func increment(by amount: Int64 = 1, at replica: ReplicaID) -> PNCounter {
        var delta = PNCounter()
        if amount >= 0 {
            delta.increments = increments.increment(by: UInt64(amount), at: replica)
        } else {
            delta.decrements = decrements.increment(by: amount.magnitude, at: replica)
        }
        return delta
    }

    /// Subtracts `amount` for `replica`; returns the delta.
    @discardableResult
    public mutating func decrement(by amount: Int64 = 1, at replica: ReplicaID) -> PNCounter {
        increment(by: -amount, at: replica)
    }

    public mutating func merge(_ other: PNCounter) {
        increments.merge(other.increments)
        decrements.merge(other.decrements)
    }

    /// Folds `removed`'s counts into `owner`'s (pruning).
    mutating func foldCounters(_ removed: ReplicaID, into owner: ReplicaID) {
        increments.fold(removed, into: owner)
        decrements.fold(removed, into: owner)
    }

    /// Drops every trace of `removed` (pruning).
    mutating func forgetCounters(_ removed: ReplicaID) {
        increments.forget(removed)
        decrements.forget(removed)
    }

    public var description: String { "PNCounter(\(value))" }
}
