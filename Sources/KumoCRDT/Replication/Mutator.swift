/// What a replicated value's `update` closure changes: the value, through the methods its type
/// offers here (`increment()`, `insert(_:)`, …), each of which also records the delta to
/// replicate.
public struct Mutator<Value: CRDT> {
    /// The value as changed so far.
    public private(set) var value: Value
    /// This node's replica.
    public let replica: ReplicaID
    /// Wall-clock milliseconds, for last-writer-wins registers.
    public let now: UInt64
    /// The change so far, as a delta.
    public private(set) var delta = Value()
    /// Whether any change was applied.
    private(set) var changed = false

    init(value: Value, replica: ReplicaID, now: UInt64) {
        self.value = value
        self.replica = replica
        self.now = now
    }

    /// Applies any change: `change` mutates the value (for `replica`) and returns its delta.
    public mutating func apply(_ change: (inout Value, ReplicaID) -> Value) {
        let next = change(&value, replica)
        if changed {
            delta.merge(next)
        } else {
            delta = next
            changed = true
        }
    }
}

extension Mutator where Value == GCounter {
    /// Adds `amount`.
    public mutating func increment(by amount: UInt64 = 1) { apply { $0.increment(by: amount, at: $1) } }
}

extension Mutator where Value == PNCounter {
    /// Adds `amount` (which may be negative).
    public mutating func increment(by amount: Int64 = 1) { apply { $0.increment(by: amount, at: $1) } }
    /// Subtracts `amount`.
    public mutating func decrement(by amount: Int64 = 1) { apply { $0.decrement(by: amount, at: $1) } }
}

extension Mutator where Value == Flag {
    /// Sets the flag.
    public mutating func enable() { apply { value, _ in value.enable() } }
}

extension Mutator {
    /// Writes `newValue` (last writer wins).
    public mutating func assign<Element>(_ newValue: Element) where Value == LWWRegister<Element> {
        let now = self.now
        apply { $0.assign(newValue, at: $1, now: now) }
    }

    /// Writes `newValue`, replacing the values seen.
    public mutating func assign<Element>(_ newValue: Element) where Value == MVRegister<Element> {
        apply { $0.assign(newValue, at: $1) }
    }

    /// Adds `element`.
    public mutating func insert<Element>(_ element: Element) where Value == ORSet<Element> {
        apply { $0.insert(element, at: $1) }
    }

    /// Removes `element`.
    public mutating func remove<Element>(_ element: Element) where Value == ORSet<Element> {
        apply { set, _ in set.remove(element) }
    }

    /// Removes every element.
    public mutating func removeAll<Element>() where Value == ORSet<Element> {
        apply { set, _ in set.removeAll() }
    }

    /// Changes the value of `key` through its own mutator.
    public mutating func update<Key, Inner>(_ key: Key, _ change: (inout Mutator<Inner>) -> Void)
    where Value == ORMap<Key, Inner> {
        let now = self.now
        apply { map, replica in
            map.update(key, at: replica) { inner in
                var mutator = Mutator<Inner>(value: inner, replica: replica, now: now)
                change(&mutator)
                inner = mutator.value
            }
        }
    }

    /// Removes `key`.
    public mutating func removeValue<Key, Inner>(forKey key: Key) where Value == ORMap<Key, Inner> {
        apply { map, _ in map.remove(key) }
    }
}
