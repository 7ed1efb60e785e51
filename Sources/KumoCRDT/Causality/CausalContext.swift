/// The changes a value has seen: for each replica every change up to a number (a version
/// vector), plus single changes beyond a gap (a dot cloud, from deltas that came out of order).
/// Kept compact: a dot next to its replica's number joins the vector, so equal sets of changes
/// have equal contexts.
public struct CausalContext: Hashable, Codable, Sendable {
    /// For each replica, the number up to which every change is seen.
    public private(set) var versions: [ReplicaID: UInt64] = [:]
    /// Changes seen beyond a gap.
    public private(set) var cloud: Set<Dot> = []

    /// No changes seen.
    public init() {}

    /// Exactly the changes `dots`.
    public init(dots: some Sequence<Dot>) {
        for dot in dots { insert(dot) }
    }

    /// Whether the change `dot` is seen.
    public func contains(_ dot: Dot) -> Bool {
        dot.counter <= versions[dot.replica, default: 0] || cloud.contains(dot)
    }

    /// The next change of `replica`, not yet seen; inserts it.
    public mutating func next(for replica: ReplicaID) -> Dot {
        let dot = Dot(replica, versions[replica, default: 0] + 1)
        insert(dot)
        return dot
    }

    /// Records the change `dot` as seen.
    public mutating func insert(_ dot: Dot) {
        guard !contains(dot) else { return }
        if dot.counter == versions[dot.replica, default: 0] + 1 {
            versions[dot.replica] = dot.counter
            compact(dot.replica)
        } else {
            cloud.insert(dot)
        }
    }

    /// Records every change `other` has seen.
    public mutating func merge(_ other: CausalContext) {
        for (replica, counter) in other.versions where counter > versions[replica, default: 0] {
            versions[replica] = counter
        }
        for dot in other.cloud where !contains(dot) { cloud.insert(dot) }
        cloud = cloud.filter { $0.counter > versions[$0.replica, default: 0] }
        for replica in Set(cloud.map(\.replica)) { compact(replica) }
    }

    /// Moves the dots of `replica` that continue its number from the cloud into the vector.
    private mutating func compact(_ replica: ReplicaID) {
        var counter = versions[replica, default: 0]
        while cloud.remove(Dot(replica, counter + 1)) != nil { counter += 1 }
        if counter > 0 { versions[replica] = counter }
    }

    /// The replicas this context has seen changes from.
    public var replicas: Set<ReplicaID> { Set(versions.keys).union(cloud.map(\.replica)) }
}

/// The dots a causal store keeps for one entry, joined under the observed-remove rule: a dot
/// survives when both sides have it, or when one side has it and the other has not seen it.
func joinDots(_ a: Set<Dot>, _ aContext: CausalContext, _ b: Set<Dot>, _ bContext: CausalContext) -> Set<Dot> {
    var joined = a.intersection(b)
    for dot in a where !b.contains(dot) && !bContext.contains(dot) { joined.insert(dot) }
    for dot in b where !a.contains(dot) && !aContext.contains(dot) { joined.insert(dot) }
    return joined
}
