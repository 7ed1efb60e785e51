/// A map from keys to CRDT values where an update wins over a concurrent remove of its key
/// (observed-remove), and concurrent updates of a key merge.
///
/// Each update of a key records the key's whole value as that update left it, under the update's
/// dot; an update replaces the records it has seen, a remove takes them away, and the key's value
/// is the merge of the records left. So a key removed on one replica while another updates it
/// stays, with the value the updating replica had; and a key removed and added again starts from
/// `Value()`. A delta carries the updated key's whole value: keep values small (a counter, a
/// register), and use keys for what grows.
public struct ORMap<Key: Hashable & Codable & Sendable, Value: CRDT>: CRDT, CustomStringConvertible {
    /// The values of the updates of each key not yet replaced or removed.
    public private(set) var entries: [Key: [Dot: Value]] = [:]
    /// The changes seen (updates, and the updates that removes took away).
    public private(set) var context = CausalContext()

    public init() {}

    /// The keys.
    public var keys: Set<Key> { Set(entries.keys) }

    /// The number of keys.
    public var count: Int { entries.count }

    /// The value of `key`, if the map has it.
    public subscript(key: Key) -> Value? {
        guard let records = entries[key] else { return nil }
        return Self.value(of: records)
    }

    /// Changes the value of `key` (from `Value()` for a new key) for `replica`; returns the delta.
    @discardableResult
    public mutating func update(_ key: Key, at replica: ReplicaID, _ change: (inout Value) -> Void) -> ORMap {
        let records = entries[key] ?? [:]
        var value = Self.value(of: records)
        change(&value)
        let dot = context.next(for: replica)
        entries[key] = [dot: value]
        var delta = ORMap()
        delta.entries[key] = [dot: value]
        delta.context = CausalContext(dots: records.keys)
        delta.context.insert(dot)
        return delta
    }

    /// Removes `key` (its updates seen here); returns the delta.
    @discardableResult
    public mutating func remove(_ key: Key) -> ORMap {
        var delta = ORMap()
        let removed = entries.removeValue(forKey: key) ?? [:]
        delta.context = CausalContext(dots: removed.keys)
        return delta
    }

    public mutating func merge(_ other: ORMap) {
        var joined: [Key: [Dot: Value]] = [:]
        for key in Set(entries.keys).union(other.entries.keys) {
            let mine = entries[key] ?? [:]
            let theirs = other.entries[key] ?? [:]
            let dots = joinDots(Set(mine.keys), context, Set(theirs.keys), other.context)
            guard !dots.isEmpty else { continue }
            var records: [Dot: Value] = [:]
            for dot in dots { records[dot] = mine[dot] ?? theirs[dot] }
            joined[key] = records
        }
        entries = joined
        context.merge(other.context)
    }

    /// A key's value: its records merged, in the order of their dots.
    /// Rewrites every key that holds something of `removed` as one record of `owner`: its
    /// joined value, with `removed`'s entries folded into `owner`'s (pruning). The context keeps
    /// the old records' dots, so stale copies of them are absorbed.
    mutating func retag(_ removed: ReplicaID, into owner: ReplicaID) {
        for (key, records) in entries {
            let touched = records.contains { dot, value in
                dot.replica == removed || ((value as? any PrunableCRDT)?.needsFolding(removed) ?? false)
            }
            guard touched else { continue }
            var value = Self.value(of: records)
            if var prunable = value as? any PrunableCRDT {
                prunable.fold(removed, into: owner)
                if let folded = prunable as? Value { value = folded }
            }
            entries[key] = [context.next(for: owner): value]
        }
    }

    /// Drops `removed`'s records, its traces in the values and its context entry (pruning).
    mutating func forgetReplica(_ removed: ReplicaID) {
        for (key, records) in entries {
            var kept: [Dot: Value] = [:]
            for (dot, value) in records where dot.replica != removed {
                if var prunable = value as? any PrunableCRDT, prunable.mentions(removed) {
                    prunable.forget(removed)
                    kept[dot] = (prunable as? Value) ?? value
                } else {
                    kept[dot] = value
                }
            }
            entries[key] = kept.isEmpty ? nil : kept
        }
        context.forget(removed)
    }

    private static func value(of records: [Dot: Value]) -> Value {
        var value = Value()
        for dot in records.keys.sorted() {
            if let record = records[dot] { value.merge(record) }
        }
        return value
    }

    public var description: String { "ORMap(\(entries.count) keys)" }
}
