/// A register that keeps every concurrent write: a write replaces the values it has seen, and
/// writes made without seeing each other all remain until a later write replaces them.
public struct MVRegister<Value: Codable & Sendable & Equatable>: CRDT, CustomStringConvertible {
    /// The values written and not yet replaced, by the change that wrote them.
    public private(set) var entries: [Dot: Value] = [:]
    /// The changes seen.
    public private(set) var context = CausalContext()

    public init() {}

    /// The concurrent values, in the order of the changes that wrote them.
    public var values: [Value] {
        entries.sorted { $0.key < $1.key }.map(\.value)
    }

    /// Writes `value` for `replica`, replacing every value seen; returns the delta.
    @discardableResult
    public mutating func assign(_ value: Value, at replica: ReplicaID) -> MVRegister {
        let replaced = entries.keys
        let dot = context.next(for: replica)
        entries = [dot: value]
        var delta = MVRegister()
        delta.entries = [dot: value]
        delta.context = CausalContext(dots: replaced)
        delta.context.insert(dot)
        return delta
    }

    public mutating func merge(_ other: MVRegister) {
        let kept = joinDots(Set(entries.keys), context, Set(other.entries.keys), other.context)
        var joined: [Dot: Value] = [:]
        for dot in kept { joined[dot] = entries[dot] ?? other.entries[dot] }
        entries = joined
        context.merge(other.context)
    }

    /// Gives the values `removed` assigned fresh dots of `owner` (pruning).
    mutating func retag(_ removed: ReplicaID, into owner: ReplicaID) {
        for dot in entries.keys.sorted() where dot.replica == removed {
            if let value = entries.removeValue(forKey: dot) { entries[context.next(for: owner)] = value }
        }
    }

    /// Drops `removed`'s values and context entry (pruning).
    mutating func forgetReplica(_ removed: ReplicaID) {
        entries = entries.filter { $0.key.replica != removed }
        context.forget(removed)
    }

    public var description: String { "MVRegister(\(values))" }
}
