/// A set where an add wins over a concurrent remove (observed-remove): a remove takes away only
/// the adds it has seen.
public struct ORSet<Element: Hashable & Codable & Sendable>: CRDT, CustomStringConvertible {
    /// For each element, the adds of it not yet removed.
    public private(set) var entries: [Element: Set<Dot>] = [:]
    /// The changes seen (adds, and the adds that removes took away).
    public private(set) var context = CausalContext()

    public init() {}

    /// The elements.
    public var elements: Set<Element> { Set(entries.keys) }

    /// Whether `element` is in the set.
    public func contains(_ element: Element) -> Bool { entries[element] != nil }

    /// The number of elements.
    public var count: Int { entries.count }

    /// Adds `element` for `replica`; returns the delta.
    @discardableResult
    public mutating func insert(_ element: Element, at replica: ReplicaID) -> ORSet {
        let replaced = entries[element] ?? []
        let dot = context.next(for: replica)
        entries[element] = [dot]
        var delta = ORSet()
        delta.entries[element] = [dot]
        delta.context = CausalContext(dots: replaced)
        delta.context.insert(dot)
        return delta
    }

    /// Removes `element` (the adds of it seen here); returns the delta.
    @discardableResult
    public mutating func remove(_ element: Element) -> ORSet {
        var delta = ORSet()
        delta.context = CausalContext(dots: entries.removeValue(forKey: element) ?? [])
        return delta
    }

    /// Removes every element seen here; returns the delta.
    @discardableResult
    public mutating func removeAll() -> ORSet {
        var delta = ORSet()
        delta.context = CausalContext(dots: entries.values.joined())
        entries = [:]
        return delta
    }

    public mutating func merge(_ other: ORSet) {
        var joined: [Element: Set<Dot>] = [:]
        for element in Set(entries.keys).union(other.entries.keys) {
            let dots = joinDots(entries[element] ?? [], context, other.entries[element] ?? [], other.context)
            if !dots.isEmpty { joined[element] = dots }
        }
        entries = joined
        context.merge(other.context)
    }

    public var description: String { "ORSet(\(entries.count) elements)" }
}
