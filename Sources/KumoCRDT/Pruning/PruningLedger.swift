import Kumo

/// Which removed replicas are being pruned and how far each has got: a small value every
/// replicator holds and gossips (``GossipEngine``), one record per removed node incarnation.
///
/// A record moves through three phases, each ended by its coordinator once every live replicator
/// has said it is through (``Record/seen``): `collecting` (each node has sent the values that
/// mention the removed replica to the keys' pruners), `folding` (each pruner has folded the
/// replica's entries into its own, and each node holds no value that still needs folding), and
/// `done` (each node forgets the replica). If the coordinator dies, the lowest live node takes
/// over in a new epoch, from `collecting` again.
struct PruningLedger: GossipState, Hashable, Codable {
    enum Phase: UInt8, Codable, Comparable, Sendable, CustomStringConvertible {
        case collecting = 0, folding = 1, done = 2

        static func < (lhs: Phase, rhs: Phase) -> Bool { lhs.rawValue < rhs.rawValue }

        var description: String {
            switch self {
            case .collecting: "collecting"
            case .folding: "folding"
            case .done: "done"
            }
        }
    }

    struct Record: Hashable, Codable, Sendable {
        /// The removed node incarnation.
        var node: NodeID
        /// Bumped by each new coordinator.
        var epoch: UInt32
        /// The node that ends the phases.
        var coordinator: NodeID
        var phase: Phase
        /// The nodes through with this phase.
        var seen: Set<NodeID>

        /// Whether this record supersedes `other`: a later epoch or phase, or, at the same one,
        /// the lower coordinator.
        func supersedes(_ other: Record) -> Bool {
            if epoch != other.epoch { return epoch > other.epoch }
            if phase != other.phase { return phase > other.phase }
            return coordinator < other.coordinator
        }
    }

    private(set) var records: [ReplicaID: Record] = [:]

    init() {}

    subscript(replica: ReplicaID) -> Record? {
        get { records[replica] }
        set { records[replica] = newValue }
    }

    /// Takes in one record; returns whether anything changed.
    @discardableResult
    mutating func merge(_ record: Record, for replica: ReplicaID) -> Bool {
        guard let mine = records[replica] else {
            records[replica] = record
            return true
        }
        if record.supersedes(mine) {
            records[replica] = record
            return true
        }
        guard !mine.supersedes(record), !record.seen.isSubset(of: mine.seen) else { return false }
        records[replica]?.seen.formUnion(record.seen)
        return true
    }

    // MARK: Gossip

    var gossipDigest: UInt64 {
        var digest: UInt64 = 0
        for (replica, record) in records {
            var hash = FNV1a()
            hash.add(replica.rawValue)
            hash.add(UInt64(record.epoch))
            hash.add(record.phase.rawValue)
            hash.add(record.coordinator.description)
            for node in record.seen.sorted() { hash.add(node.description) }
            var mix = SplitMix64(seed: hash.value)
            digest ^= mix.next()
        }
        return digest
    }

    func gossipMessage(for peer: NodeID) -> PruningLedger { self }

    /// Returns whether anything changed.
    mutating func mergeGossip(_ message: PruningLedger, from peer: NodeID) -> Bool {
        var changed = false
        for (replica, record) in message.records where merge(record, for: replica) { changed = true }
        return changed
    }
}
