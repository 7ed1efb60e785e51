/// The changes a value has seen: for each replica every change up to a number (a version
/// vector), plus single changes beyond a gap (a dot cloud, from deltas that came out of order).
/// Kept compact: a dot next to its replica's number joins the vector, so equal sets of changes
/// have equal contexts.
///
/// Inserting a dot and merging a small context cost in proportion to what is added, not to the
/// size of this context, so deltas merge in constant time into large values.
public struct CausalContext: Hashable, Codable, Sendable {
    /// For each replica, the number up to which every change is seen.
    public private(set) var versions: [ReplicaID: UInt64] = [:]
    /// For each replica, the changes seen beyond a gap (never empty sets).
    private var gaps: [ReplicaID: Set<UInt64>] = [:]

    /// No changes seen.
    public init() {}

    /// Exactly the changes `dots`.
    public init(dots: some Sequence<Dot>) {
        for dot in dots { insert(dot) }
    }

    /// Changes seen beyond a gap.
    public var cloud: Set<Dot> {
        Set(gaps.flatMap { replica, counters in counters.map { Dot(replica, $0) } })
    }

    /// Whether the change `dot` is seen.
    public func contains(_ dot: Dot) -> Bool {
        dot.counter <= versions[dot.replica, default: 0] || gaps[dot.replica]?.contains(dot.counter) == true
    }

    /// The next change of `replica`, not yet seen; inserts it.
    public mutating func next(for replica: ReplicaID) -> Dot {
        // Saturates rather than traps: a peer may claim any number (it harms that key only).
        let dot = Dot(replica, versions[replica, default: 0] == .max ? .max : versions[replica, default: 0] + 1)
        insert(dot)
        return dot
    }

    /// Records the change `dot` as seen.
    public mutating func insert(_ dot: Dot) {
        let version = versions[dot.replica, default: 0]
        guard dot.counter > version else { return }
        if version < .max, dot.counter == version + 1 {
            versions[dot.replica] = dot.counter
            compact(dot.replica)
        } else {
            gaps[dot.replica, default: []].insert(dot.counter)
        }
    }

    /// Records every change `other` has seen.
    public mutating func merge(_ other: CausalContext) {
        for (replica, counter) in other.versions where counter > versions[replica, default: 0] {
            versions[replica] = counter
            if var counters = gaps[replica] {
                counters = counters.filter { $0 > counter }
                gaps[replica] = counters.isEmpty ? nil : counters
            }
            compact(replica)
        }
        for (replica, counters) in other.gaps {
            for counter in counters { insert(Dot(replica, counter)) }
        }
    }

    /// Moves the dots of `replica` that continue its number from the gaps into the vector.
    private mutating func compact(_ replica: ReplicaID) {
        guard var counters = gaps[replica] else { return }
        var counter = versions[replica, default: 0]
        while counter < .max, counters.remove(counter + 1) != nil { counter += 1 }
        if counter > 0 { versions[replica] = counter }
        gaps[replica] = counters.isEmpty ? nil : counters
    }

    // On the wire: the versions as (replica, number) pairs, the gaps as (replica, count,
    // numbers…), all in two flat arrays of numbers.
    private enum CodingKeys: String, CodingKey { case versions = "v", gaps = "g" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let flatVersions = try container.decode([UInt64].self, forKey: .versions)
        let flatGaps = try container.decode([UInt64].self, forKey: .gaps)
        guard flatVersions.count % 2 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .versions, in: container, debugDescription: "odd number of version fields")
        }
        for index in stride(from: 0, to: flatVersions.count, by: 2) where flatVersions[index + 1] > 0 {
            versions[ReplicaID(rawValue: flatVersions[index])] = flatVersions[index + 1]
        }
        var index = 0
        while index < flatGaps.count {
            guard index + 1 < flatGaps.count, flatGaps[index + 1] <= UInt64(flatGaps.count - index - 2) else {
                throw DecodingError.dataCorruptedError(forKey: .gaps, in: container, debugDescription: "truncated gap list")
            }
            let replica = ReplicaID(rawValue: flatGaps[index])
            let count = Int(flatGaps[index + 1])
            for number in flatGaps[(index + 2)..<(index + 2 + count)] { insert(Dot(replica, number)) }
            index += 2 + count
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var flatVersions: [UInt64] = []
        flatVersions.reserveCapacity(versions.count * 2)
        for (replica, version) in versions {
            flatVersions.append(replica.rawValue)
            flatVersions.append(version)
        }
        var flatGaps: [UInt64] = []
        for (replica, numbers) in gaps {
            flatGaps.append(replica.rawValue)
            flatGaps.append(UInt64(numbers.count))
            flatGaps.append(contentsOf: numbers)
        }
        try container.encode(flatVersions, forKey: .versions)
        try container.encode(flatGaps, forKey: .gaps)
    }

    /// Whether every change `other` has seen is seen here too.
    public func covers(_ other: CausalContext) -> Bool {
        for (replica, counter) in other.versions where counter > versions[replica, default: 0] {
            // Only seen here if the numbers beyond this side's version are all in its gaps.
            let version = versions[replica, default: 0]
            guard version < .max, let counters = gaps[replica], counter - version <= UInt64(counters.count) else { return false }
            for number in (version + 1)...counter where !counters.contains(number) { return false }
        }
        for (replica, counters) in other.gaps {
            for counter in counters where !contains(Dot(replica, counter)) { return false }
        }
        return true
    }

    /// The replicas this context has seen changes from.
    public var replicas: Set<ReplicaID> { Set(versions.keys).union(gaps.keys) }

    /// How many dots this context covers (every number up to each replica's version counts).
    var size: UInt64 {
        versions.values.reduce(0, +) + UInt64(gaps.values.reduce(0) { $0 + $1.count })
    }

    /// Every dot this context covers, for a context known to be small (a delta's).
    var dots: [Dot] {
        var all: [Dot] = []
        for (replica, version) in versions where version > 0 {
            for counter in 1...version { all.append(Dot(replica, counter)) }
        }
        for (replica, counters) in gaps {
            for counter in counters { all.append(Dot(replica, counter)) }
        }
        return all
    }
}

/// The dots a causal store keeps for one entry, joined under the observed-remove rule: a dot
/// survives when both sides have it, or when one side has it and the other has not seen it.
func joinDots(_ a: Set<Dot>, _ aContext: CausalContext, _ b: Set<Dot>, _ bContext: CausalContext) -> Set<Dot> {
    var joined = a.intersection(b)
    for dot in a where !b.contains(dot) && !bContext.contains(dot) { joined.insert(dot) }
    for dot in b where !a.contains(dot) && !aContext.contains(dot) { joined.insert(dot) }
    return joined
}
