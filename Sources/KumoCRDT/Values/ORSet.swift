/// A set where an add wins over a concurrent remove (observed-remove): a remove takes away only
/// the adds it has seen.
///
/// Merging a delta costs in proportion to the delta, not to the set: an index from each add to its
/// element finds what a delta's removes take away.
public struct ORSet<Element: Hashable & Codable & Sendable>: CRDT, CustomStringConvertible {
    /// For each element, the adds of it not yet removed.
    public private(set) var entries: [Element: Dots] = [:]
    /// The changes seen (adds, and the adds that removes took away).
    public private(set) var context = CausalContext()
    /// Which element each add in `entries` belongs to.
    private var owners: [Dot: Element] = [:]

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
        let replaced = entries[element] ?? Dots()
        for dot in replaced { owners[dot] = nil }
        let dot = context.next(for: replica)
        entries[element] = Dots(dot)
        owners[dot] = element
        var delta = ORSet()
        delta.entries[element] = Dots(dot)
        delta.owners[dot] = element
        delta.context = CausalContext(dots: replaced)
        delta.context.insert(dot)
        return delta
    }

    /// Removes `element` (the adds of it seen here); returns the delta.
    @discardableResult
    public mutating func remove(_ element: Element) -> ORSet {
        var delta = ORSet()
        let removed = entries.removeValue(forKey: element) ?? Dots()
        for dot in removed { owners[dot] = nil }
        delta.context = CausalContext(dots: removed)
        return delta
    }

    /// Removes every element seen here; returns the delta.
    @discardableResult
    public mutating func removeAll() -> ORSet {
        var delta = ORSet()
        delta.context = CausalContext(dots: entries.values.joined())
        entries = [:]
        owners = [:]
        return delta
    }

    public mutating func merge(_ other: ORSet) {
        // The elements `other` has: joined one by one.
        for (element, theirs) in other.entries {
            let mine = entries[element] ?? Dots()
            let dots = Dots.join(mine, context, theirs, other.context)
            setDots(dots, of: element, replacing: mine)
        }
        // The elements only this side has lose the adds `other` has seen (it removed them):
        // found through the index when `other`'s context is the smaller, else by a scan.
        if other.context.size < UInt64(owners.count) {
            for dot in other.context.dots {
                guard let element = owners[dot], other.entries[element] == nil, let mine = entries[element] else { continue }
                setDots(Dots(mine.lazy.filter { $0 != dot }), of: element, replacing: mine)
            }
        } else {
            for (element, mine) in entries where other.entries[element] == nil {
                let kept = Dots(mine.lazy.filter { !other.context.contains($0) })
                if kept.count != mine.count { setDots(kept, of: element, replacing: mine) }
            }
        }
        context.merge(other.context)
    }

    /// Gives every element that `removed` added a fresh add of `owner` instead (pruning); the
    /// context keeps `removed`'s adds, so stale copies of them are absorbed.
    mutating func retag(_ removed: ReplicaID, into owner: ReplicaID) {
        for (element, dots) in entries where dots.contains(where: { $0.replica == removed }) {
            var kept = dots.filter { $0.replica != removed }
            if kept.isEmpty { kept.append(context.next(for: owner)) }
            setDots(Dots(kept), of: element, replacing: dots)
        }
    }

    /// Drops `removed`'s adds and its context entry (pruning, once no value holds its adds).
    mutating func forgetReplica(_ removed: ReplicaID) {
        for (element, dots) in entries where dots.contains(where: { $0.replica == removed }) {
            setDots(Dots(dots.filter { $0.replica != removed }), of: element, replacing: dots)
        }
        context.forget(removed)
    }

    private mutating func setDots(_ dots: Dots, of element: Element, replacing old: Dots) {
        for dot in old where !dots.contains(dot) { owners[dot] = nil }
        for dot in dots { owners[dot] = element }
        entries[element] = dots.isEmpty ? nil : dots
    }

    public static func == (lhs: ORSet, rhs: ORSet) -> Bool {
        lhs.entries == rhs.entries && lhs.context == rhs.context
    }

    // On the wire: the elements in one array, their adds in one flat array of numbers (for each
    // element a count, then (replica, number) pairs), and the context.
    private enum CodingKeys: String, CodingKey { case elements = "e", dots = "d", context = "c" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let elements = try container.decode([Element].self, forKey: .elements)
        let flat = try container.decode([UInt64].self, forKey: .dots)
        context = try container.decode(CausalContext.self, forKey: .context)
        var index = 0
        entries.reserveCapacity(elements.count)
        for element in elements {
            guard index < flat.count, flat[index] <= UInt64((flat.count - index - 1) / 2) else {
                throw DecodingError.dataCorruptedError(forKey: .dots, in: container, debugDescription: "truncated add list")
            }
            let count = Int(flat[index])
            index += 1
            var added: [Dot] = []
            added.reserveCapacity(count)
            for _ in 0..<count {
                let dot = Dot(ReplicaID(rawValue: flat[index]), flat[index + 1])
                added.append(dot)
                owners[dot] = element
                index += 2
            }
            let dots = Dots(added)
            if !dots.isEmpty { entries[element] = dots }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var elements: [Element] = []
        elements.reserveCapacity(entries.count)
        var flat: [UInt64] = []
        flat.reserveCapacity(entries.count * 3)
        for (element, dots) in entries {
            elements.append(element)
            flat.append(UInt64(dots.count))
            for dot in dots {
                flat.append(dot.replica.rawValue)
                flat.append(dot.counter)
            }
        }
        try container.encode(elements, forKey: .elements)
        try container.encode(flat, forKey: .dots)
        try container.encode(context, forKey: .context)
    }

    public var description: String { "ORSet(\(entries.count) elements)" }
}
