/// A counter that only grows: each replica counts its own increments, and the value is their sum.
public struct GCounter: CRDT, CustomStringConvertible {
    /// Each replica's own count. A removed replica whose count has been folded into another's
    /// (pruning) holds ``foldedMark``, the top of the lattice, so that merging absorbs every stale
    /// copy of its old count; the mark goes once pruning is done everywhere.
    public private(set) var counts: [ReplicaID: UInt64] = [:]

    /// The count that marks a folded replica.
    static let foldedMark = UInt64.max

    public init() {}

    /// The count.
    public var value: UInt64 {
        var total: UInt64 = 0
        for count in counts.values where count != Self.foldedMark { total &+= count }
        return total
    }

    /// The removed replicas whose counts were folded into another's.
    public var folded: Set<ReplicaID> { Set(counts.filter { $0.value == Self.foldedMark }.keys) }

    /// Adds `amount` for `replica`; returns the delta (that replica's new count).
    @discardableResult
    public mutating func increment(by amount: UInt64 = 1, at replica: ReplicaID) -> GCounter {
        // Saturates below the mark.
        let current = counts[replica, default: 0]
        let count = current == Self.foldedMark ? current : min(current &+ amount, Self.foldedMark - 1)
        counts[replica] = count
        var delta = GCounter()
        delta.counts[replica] = count
        return delta
    }

    public mutating func merge(_ other: GCounter) {
        counts.merge(other.counts) { Swift.max($0, $1) }
    }

    public var description: String { "GCounter(\(value))" }
}

extension GCounter: PrunableCRDT {
    func needsFolding(_ removed: ReplicaID) -> Bool {
        counts[removed].map { $0 != Self.foldedMark } ?? false
    }

    mutating func fold(_ removed: ReplicaID, into owner: ReplicaID) {
        guard let count = counts[removed], count != Self.foldedMark else { return }
        increment(by: count, at: owner)
        counts[removed] = Self.foldedMark
    }

    func mentions(_ removed: ReplicaID) -> Bool { counts[removed] != nil }

    mutating func forget(_ removed: ReplicaID) {
        counts.removeValue(forKey: removed)
    }
}
