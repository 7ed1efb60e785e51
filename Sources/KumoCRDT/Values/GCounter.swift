/// A counter that only grows: each replica counts its own increments, and the value is their sum.
public struct GCounter: CRDT, CustomStringConvertible {
    /// Each replica's own count.
    public private(set) var counts: [ReplicaID: UInt64] = [:]
    /// Removed replicas whose counts have been folded into another's: their entries are dropped
    /// wherever they still turn up, until pruning is done everywhere and the marks go too.
    public private(set) var folded: Set<ReplicaID> = []

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
        guard !other.folded.isEmpty || !folded.isEmpty else { return }
        folded.formUnion(other.folded)
        for replica in folded { counts.removeValue(forKey: replica) }
    }

    public var description: String { "GCounter(\(value))" }

    private enum CodingKeys: String, CodingKey { case counts, folded }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        counts = try container.decode([ReplicaID: UInt64].self, forKey: .counts)
        folded = try container.decodeIfPresent(Set<ReplicaID>.self, forKey: .folded) ?? []
        for replica in folded { counts.removeValue(forKey: replica) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(counts, forKey: .counts)
        if !folded.isEmpty { try container.encode(folded, forKey: .folded) }
    }
}

extension GCounter: PrunableCRDT {
    func needsFolding(_ removed: ReplicaID) -> Bool { counts[removed] != nil }

    mutating func fold(_ removed: ReplicaID, into owner: ReplicaID) {
        guard let count = counts.removeValue(forKey: removed) else { return }
        counts[owner, default: 0] &+= count
        folded.insert(removed)
    }

    func mentions(_ removed: ReplicaID) -> Bool { counts[removed] != nil || folded.contains(removed) }

    mutating func forget(_ removed: ReplicaID) {
        counts.removeValue(forKey: removed)
        folded.remove(removed)
    }
}
