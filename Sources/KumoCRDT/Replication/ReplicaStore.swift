import Kumo

/// A node's replicas as a value: every key's value and the changes it covers, what each peer has
/// yet to be sent, and the digests anti-entropy compares. No I/O: the replicator around it sends
/// what it returns.
struct ReplicaStore: Sendable {
    struct Entry: Sendable {
        var type: String
        var value: any CRDT
        /// Every change (delta dot) the value covers.
        var applied: CausalContext
        var digest: UInt64
    }

    /// A peer's deltas not yet sent, merged per key.
    struct Pending: Sendable {
        var delta: any CRDT
        var type: String
        var dots: CausalContext
    }

    let replica: ReplicaID
    private(set) var entries: [String: Entry] = [:]
    private(set) var pending: [NodeID: [String: Pending]] = [:]
    private(set) var peers: Set<NodeID> = []
    /// The XOR of every key's digest: equal totals mean (almost surely) equal replicas.
    private(set) var total: UInt64 = 0
    /// Deltas waiting for one peer beyond this many keys are dropped; anti-entropy repairs it.
    let pendingLimit: Int

    init(replica: ReplicaID, pendingLimit: Int = 100_000) {
        self.replica = replica
        self.pendingLimit = pendingLimit
    }

    // MARK: Peers

    mutating func addPeer(_ node: NodeID) { peers.insert(node) }

    mutating func removePeer(_ node: NodeID) {
        peers.remove(node)
        pending.removeValue(forKey: node)
    }

    // MARK: Changes

    func value(_ key: String) -> (any CRDT)? { entries[key]?.value }
    func type(of key: String) -> String? { entries[key]?.type }

    /// Records a change made here: the new value and its delta, which every peer is to be sent.
    /// Returns the delta's dot.
    @discardableResult
    mutating func applyLocal(key: String, type: CRDTType, value: any CRDT, delta: any CRDT) -> Dot {
        var entry = entries[key] ?? Entry(type: type.name, value: type.empty(), applied: CausalContext(), digest: 0)
        let dot = entry.applied.next(for: replica)
        entry.value = value
        store(key, entry)
        enqueue(key: key, type: type, delta: delta, dots: CausalContext(dots: [dot]), except: nil)
        return dot
    }

    /// Applies a delta from a peer; returns the new value when it changed anything.
    mutating func receive(_ item: DeltaItem, decoded: any CRDT, type: CRDTType) throws(ReplicationError) -> (any CRDT)? {
        try merge(key: item.key, type: type, value: decoded, covering: item.dots)
    }

    /// Applies a whole value from a peer; returns the new value when it changed anything.
    mutating func receive(_ item: StateItem, decoded: any CRDT, type: CRDTType) throws(ReplicationError) -> (any CRDT)? {
        try merge(key: item.key, type: type, value: decoded, covering: item.applied)
    }

    private mutating func merge(key: String, type: CRDTType, value: any CRDT, covering dots: CausalContext) throws(ReplicationError) -> (any CRDT)? {
        var entry = entries[key] ?? Entry(type: type.name, value: type.empty(), applied: CausalContext(), digest: 0)
        guard entry.type == type.name else {
            throw ReplicationError(.typeMismatch, key: key, "key \(key) holds \(entry.type) here, not \(type.name)")
        }
        guard let (joined, changed) = type.merge(entry.value, value) else {
            throw ReplicationError(.typeMismatch, key: key, "a value of key \(key) is not a \(type.name)")
        }
        let before = entry.applied
        entry.applied.merge(dots)
        guard changed || entry.applied != before || entries[key] == nil else { return nil }
        entry.value = joined
        store(key, entry)
        return changed ? joined : nil
    }

    private mutating func store(_ key: String, _ entry: Entry) {
        var entry = entry
        let old = entries[key]?.digest ?? 0
        entry.digest = Self.digest(entry.applied)
        total ^= old ^ entry.digest
        entries[key] = entry
    }

    /// Adds a delta to what peers (all but `except`) are to be sent.
    private mutating func enqueue(key: String, type: CRDTType, delta: any CRDT, dots: CausalContext, except: NodeID?) {
        for peer in peers where peer != except {
            var queue = pending[peer] ?? [:]
            if var waiting = queue[key], let (joined, _) = type.merge(waiting.delta, delta) {
                waiting.delta = joined
                waiting.dots.merge(dots)
                queue[key] = waiting
            } else if queue.count < pendingLimit {
                queue[key] = Pending(delta: delta, type: type.name, dots: dots)
            }
            pending[peer] = queue
        }
    }

    /// Takes what `peer` is to be sent, at most `limit` keys.
    mutating func takePending(for peer: NodeID, limit: Int) -> [(key: String, pending: Pending)] {
        guard var queue = pending[peer], !queue.isEmpty else { return [] }
        var taken: [(String, Pending)] = []
        for key in queue.keys.prefix(limit) {
            if let item = queue.removeValue(forKey: key) { taken.append((key, item)) }
        }
        pending[peer] = queue.isEmpty ? nil : queue
        return taken
    }

    // MARK: Anti-entropy

    /// Every key's digest.
    var digests: [String: UInt64] { entries.mapValues(\.digest) }

    /// Compares a peer's digests with this store's: the keys whose values this store should send
    /// (they differ, or the peer lacks them), and the keys it wants the peer's values of.
    func compare(_ theirs: [String: UInt64]) -> (send: [String], want: [String]) {
        var send: [String] = []
        var want: [String] = []
        for (key, digest) in theirs {
            guard let mine = entries[key] else {
                want.append(key)
                continue
            }
            if mine.digest != digest {
                send.append(key)
                want.append(key)
            }
        }
        for key in entries.keys where theirs[key] == nil { send.append(key) }
        return (send, want)
    }

    /// The whole value of `key`, for a peer.
    func state(_ key: String) -> (type: String, value: any CRDT, applied: CausalContext)? {
        entries[key].map { ($0.type, $0.value, $0.applied) }
    }

    /// A digest of the changes a value covers, the same on every node for the same changes.
    static func digest(_ context: CausalContext) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ value: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) {
                hash ^= (value >> UInt64(shift)) & 0xFF
                hash &*= 0x0000_0100_0000_01B3
            }
        }
        for (replica, counter) in context.versions.sorted(by: { $0.key < $1.key }) {
            mix(replica.rawValue)
            mix(counter)
        }
        mix(0xFFFF_FFFF_FFFF_FFFF)
        for dot in context.cloud.sorted() {
            mix(dot.replica.rawValue)
            mix(dot.counter)
        }
        return hash == 0 ? 1 : hash
    }
}
