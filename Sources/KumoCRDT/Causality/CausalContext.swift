import Kumo

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
    /// For each replica, the runs of changes seen beyond a gap: sorted, apart from each other and
    /// from the version (never empty). Changes come in runs (a delta batch, a queue for a peer),
    /// so a run is kept as its two ends.
    private var gaps: [ReplicaID: [ClosedRange<UInt64>]] = [:]

    /// No changes seen.
    public init() {}

    /// Exactly the changes `dots`.
    public init(dots: some Sequence<Dot>) {
        for dot in dots { insert(dot) }
    }

    /// Changes seen beyond a gap.
    public var cloud: Set<Dot> {
        var dots: Set<Dot> = []
        for (replica, runs) in gaps {
            for run in runs {
                for counter in run { dots.insert(Dot(replica, counter)) }
            }
        }
        return dots
    }

    /// Whether the change `dot` is seen.
    public func contains(_ dot: Dot) -> Bool {
        if dot.counter <= versions[dot.replica, default: 0] { return true }
        guard let runs = gaps[dot.replica] else { return false }
        return Self.index(of: dot.counter, in: runs) != nil
    }

    /// The next change of `replica`, not yet seen; inserts it.
    public mutating func next(for replica: ReplicaID) -> Dot {
        // Saturates rather than traps: a peer may claim any number (it harms that key only).
        let version = versions[replica, default: 0]
        let dot = Dot(replica, version == .max ? .max : version + 1)
        insert(dot)
        return dot
    }

    /// Records the change `dot` as seen.
    public mutating func insert(_ dot: Dot) {
        insert(dot.counter...dot.counter, of: dot.replica)
    }

    /// Records the changes `run` of `replica` as seen.
    private mutating func insert(_ run: ClosedRange<UInt64>, of replica: ReplicaID) {
        let version = versions[replica, default: 0]
        guard run.upperBound > version else { return }
        let lower = max(run.lowerBound, version + 1)
        var runs = gaps.removeValue(forKey: replica) ?? []
        // Runs that touch or overlap the new one join it.
        var merged = lower...run.upperBound
        let position = Self.firstRun(endingAtOrAfter: lower == 0 ? 0 : lower - 1, in: runs)
        while position < runs.count, runs[position].lowerBound <= (merged.upperBound == .max ? .max : merged.upperBound + 1) {
            merged = min(merged.lowerBound, runs[position].lowerBound)...max(merged.upperBound, runs[position].upperBound)
            runs.remove(at: position)
        }
        if merged.lowerBound == version + 1 {
            versions[replica] = merged.upperBound
        } else {
            runs.insert(merged, at: position)
        }
        if !runs.isEmpty { gaps[replica] = runs }
    }

    /// Forgets every change of `replica` (a removed replica, once pruning is done).
    public mutating func forget(_ replica: ReplicaID) {
        versions.removeValue(forKey: replica)
        gaps.removeValue(forKey: replica)
    }

    /// Whether any change of `replica` is recorded.
    public func mentions(_ replica: ReplicaID) -> Bool {
        versions[replica] != nil || gaps[replica] != nil
    }

    /// Records every change `other` has seen.
    public mutating func merge(_ other: CausalContext) {
        for (replica, counter) in other.versions where counter > versions[replica, default: 0] {
            insert(1...counter, of: replica)
        }
        for (replica, runs) in other.gaps {
            for run in runs { insert(run, of: replica) }
        }
    }

    /// Whether every change `other` has seen is seen here too.
    public func covers(_ other: CausalContext) -> Bool {
        for (replica, counter) in other.versions where !covers(1...counter, of: replica) { return false }
        for (replica, runs) in other.gaps {
            for run in runs where !covers(run, of: replica) { return false }
        }
        return true
    }

    private func covers(_ run: ClosedRange<UInt64>, of replica: ReplicaID) -> Bool {
        let version = versions[replica, default: 0]
        if run.upperBound <= version { return true }
        let lower = max(run.lowerBound, version + 1)
        // Runs are apart from each other and from the version: the rest must lie in one of them.
        guard let runs = gaps[replica], let index = Self.index(of: lower, in: runs) else { return false }
        return runs[index].upperBound >= run.upperBound
    }

    /// The run of `runs` holding `counter`, if any.
    private static func index(of counter: UInt64, in runs: [ClosedRange<UInt64>]) -> Int? {
        let position = firstRun(endingAtOrAfter: counter, in: runs)
        return position < runs.count && runs[position].contains(counter) ? position : nil
    }

    /// The position of the first run whose upper end is at least `counter`.
    private static func firstRun(endingAtOrAfter counter: UInt64, in runs: [ClosedRange<UInt64>]) -> Int {
        var low = 0
        var high = runs.count
        while low < high {
            let middle = (low + high) / 2
            if runs[middle].upperBound < counter { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Feeds the changes seen to `hash` in an order every node agrees on (replicas sorted, runs
    /// as their two ends), so equal contexts hash alike.
    func addCanonically(to hash: inout FNV1a) {
        for (replica, version) in versions.sorted(by: { $0.key < $1.key }) {
            hash.add(replica.rawValue)
            hash.add(version)
        }
        hash.add(UInt64.max)
        for (replica, runs) in gaps.sorted(by: { $0.key < $1.key }) {
            hash.add(replica.rawValue)
            for run in runs {
                hash.add(run.lowerBound)
                hash.add(run.upperBound)
            }
        }
    }

    /// The replicas this context has seen changes from.
    public var replicas: Set<ReplicaID> { Set(versions.keys).union(gaps.keys) }

    /// How many dots this context covers (every number up to each replica's version counts).
    var size: UInt64 {
        var total: UInt64 = 0
        for version in versions.values { total &+= version }
        for runs in gaps.values {
            for run in runs { total &+= run.upperBound - run.lowerBound + 1 }
        }
        return total
    }

    /// Every dot this context covers, for a context known to be small (a delta's).
    var dots: [Dot] {
        var all: [Dot] = []
        for (replica, version) in versions where version > 0 {
            for counter in 1...version { all.append(Dot(replica, counter)) }
        }
        for (replica, runs) in gaps {
            for run in runs {
                for counter in run { all.append(Dot(replica, counter)) }
            }
        }
        return all
    }

    // On the wire: the versions as (replica, number) pairs, the gaps as (replica, run count,
    // then each run's two ends), all in two flat arrays of numbers.
    private enum CodingKeys: String, CodingKey { case versions = "v", gaps = "g" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let flatVersions = try container.decode([UInt64].self, forKey: .versions)
        let flatGaps = try container.decode([UInt64].self, forKey: .gaps)
        guard flatVersions.count % 2 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .versions, in: container, debugDescription: "odd number of version fields")
        }
        for index in stride(from: 0, to: flatVersions.count, by: 2) where flatVersions[index + 1] > 0 {
            insert(1...flatVersions[index + 1], of: ReplicaID(rawValue: flatVersions[index]))
        }
        var index = 0
        while index < flatGaps.count {
            guard index + 1 < flatGaps.count, flatGaps[index + 1] <= UInt64((flatGaps.count - index - 2) / 2) else {
                throw DecodingError.dataCorruptedError(forKey: .gaps, in: container, debugDescription: "truncated gap list")
            }
            let replica = ReplicaID(rawValue: flatGaps[index])
            let count = Int(flatGaps[index + 1])
            var position = index + 2
            for _ in 0..<count {
                let (lower, upper) = (flatGaps[position], flatGaps[position + 1])
                guard lower >= 1, lower <= upper else {
                    throw DecodingError.dataCorruptedError(forKey: .gaps, in: container, debugDescription: "a run ends before it starts")
                }
                insert(lower...upper, of: replica)
                position += 2
            }
            index = position
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
        for (replica, runs) in gaps {
            flatGaps.append(replica.rawValue)
            flatGaps.append(UInt64(runs.count))
            for run in runs {
                flatGaps.append(run.lowerBound)
                flatGaps.append(run.upperBound)
            }
        }
        try container.encode(flatVersions, forKey: .versions)
        try container.encode(flatGaps, forKey: .gaps)
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
