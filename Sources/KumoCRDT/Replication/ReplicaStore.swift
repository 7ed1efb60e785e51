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

        /// The value, leaving a placeholder, so that its taker holds the only reference.
        mutating func takeValue() -> any CRDT {
            let taken = value
            value = Flag()
            return taken
        }
    }

    /// A peer's deltas not yet sent, merged per key.
    struct Pending: Sendable {
        var delta: any CRDT
        var type: String
        var dots: CausalContext
    }

    let replica: ReplicaID
    /// This node.
    let node: NodeID
    private(set) var entries: [String: Entry] = [:]
    /// Keys held by `n` nodes rather than all, by their `n`.
    private(set) var placement: [String: Int] = [:]
    private(set) var pending: [NodeID: [String: Pending]] = [:]
    /// The other members in good standing: the replicas of every key besides this one.
    private(set) var peers: Set<NodeID> = []
    /// Peers that cannot be reached now: their deltas wait (up to the limit) until they can.
    private(set) var unreachable: Set<NodeID> = []
    /// The XOR of every key's digest, as of the last ``refreshDigests()``.
    private(set) var total: UInt64 = 0
    /// Keys changed since their digest was computed.
    private var stale: Set<String> = []
    /// Keys changed in this anti-entropy period and the one before: their deltas are still
    /// travelling, so anti-entropy leaves them alone.
    private var recent: Set<String> = []
    private var previous: Set<String> = []
    /// Deltas waiting for one peer beyond this many keys are dropped; anti-entropy repairs it.
    let pendingLimit: Int

    init(node: NodeID, pendingLimit: Int = 100_000) {
        self.node = node
        self.replica = ReplicaID(node)
        self.pendingLimit = pendingLimit
    }

    // MARK: Placement

    /// Records that `key` is held by `replicas` nodes (`nil`: all of them).
    mutating func place(_ key: String, replicas: Int?) {
        guard let replicas else { return }
        placement[key] = max(1, replicas)
    }

    /// How many nodes hold `key`; `nil`: all.
    func replicaCount(of key: String) -> Int? { placement[key] }

    /// The nodes that hold `key` (this one included when it does): the `n` members with the
    /// highest rendezvous hash of the key and the node, so every node computes the same set and a
    /// member joining or leaving moves only the keys it wins or held. `nil`: every member.
    func replicaSet(of key: String) -> Set<NodeID>? {
        guard let count = placement[key] else { return nil }
        return Self.rendezvous(key, among: peers.union([node]), count: count)
    }

    /// Whether this node holds `key`.
    func isReplica(of key: String) -> Bool {
        replicaSet(of: key)?.contains(node) ?? true
    }

    /// Whether `peer` holds `key`.
    func replicates(_ peer: NodeID, _ key: String) -> Bool {
        replicaSet(of: key)?.contains(peer) ?? true
    }

    /// The `count` nodes of `members` with the highest rendezvous hash for `key`.
    static func rendezvous(_ key: String, among members: Set<NodeID>, count: Int) -> Set<NodeID> {
        guard members.count > count else { return members }
        var keyHash = FNV1a()
        keyHash.add(key)
        // SplitMix64 of the key's hash and the node's replica number, computed once per node.
        func score(_ node: NodeID) -> UInt64 {
            var z = keyHash.value ^ ReplicaID(node).rawValue &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let ranked = members.map { (score: score($0), node: $0) }.sorted { ($0.score, $0.node) > ($1.score, $1.node) }.map(\.node)
        return Set(ranked.prefix(count))
    }

    /// Forgets `key` (this node no longer holds it, and its new holders have it).
    mutating func drop(_ key: String) {
        guard var entry = entries.removeValue(forKey: key) else { return }
        total ^= entry.digest
        entry.digest = 0
        stale.remove(key)
        for peer in Array(pending.keys) { pending[peer]?.removeValue(forKey: key) }
    }

    /// The keys held by only some nodes.
    var partialKeys: [String] { Array(placement.keys) }

    // MARK: Peers

    /// Adds `node` as a replica; `true` when it is new (it then needs every value).
    @discardableResult
    mutating func addPeer(_ node: NodeID) -> Bool {
        unreachable.remove(node)
        return peers.insert(node).inserted
    }

    /// Every key.
    var keys: [String] { Array(entries.keys) }

    /// How many keys there are.
    var count: Int { entries.count }

    /// `node` cannot be reached for now: it stays a replica, and its deltas wait.
    mutating func peerUnreachable(_ node: NodeID) {
        if peers.contains(node) { unreachable.insert(node) }
    }

    /// `node` left the cluster (or was downed): it is no longer a replica.
    mutating func removePeer(_ node: NodeID) {
        peers.remove(node)
        unreachable.remove(node)
        pending.removeValue(forKey: node)
    }

    /// The peers that can be reached now.
    var reachablePeers: Set<NodeID> { peers.subtracting(unreachable) }

    // MARK: Changes

    func value(_ key: String) -> (any CRDT)? { entries[key]?.value }
    func type(of key: String) -> String? { entries[key]?.type }

    /// Takes the value of `key` out of the store for a change made here, so that the change
    /// mutates it without a copy; ``applyLocal(key:type:value:delta:)`` or ``restore(_:_:)`` puts
    /// it back.
    mutating func take(_ key: String) -> (any CRDT)? {
        entries[key]?.takeValue()
    }

    private static func put(_ value: any CRDT, into entry: inout Entry, replica: ReplicaID) -> Dot {
        entry.value = value
        return entry.applied.next(for: replica)
    }

    /// What ``take(_:as:)`` found.
    enum Taken {
        case absent
        case value(any CRDT)
        /// The key holds a value of another type (named).
        case otherType(String)
    }

    /// Takes the value of `key` out of the store, like ``take(_:)``, if it is of type `name`; one
    /// lookup.
    mutating func take(_ key: String, as name: String) -> Taken {
        guard let index = entries.index(forKey: key) else { return .absent }
        guard entries.values[index].type == name else { return .otherType(entries.values[index].type) }
        return .value(entries.values[index].takeValue())
    }

    /// Puts back a value taken with ``take(_:)`` that did not change.
    mutating func restore(_ key: String, _ value: any CRDT) {
        entries[key]?.value = value
    }

    /// Records a change made here: the new value and its delta, which every peer is to be sent.
    /// Returns the delta's dot.
    @discardableResult
    mutating func applyLocal(key: String, type: CRDTType, value: any CRDT, delta: any CRDT) -> Dot {
        // One lookup: the entry is changed where it is.
        let replica = self.replica
        let dot = Self.put(value, into: &entries[key, default: Entry(type: type.name, value: Flag(), applied: CausalContext(), digest: 0)], replica: replica)
        stale.insert(key)
        recent.insert(key)
        enqueue(key: key, type: type, delta: delta, dot: dot)
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
        if let held = entries[key] {
            guard held.type == type.name else {
                throw ReplicationError(.typeMismatch, key: key, "key \(key) holds \(held.type) here, not \(type.name)")
            }
            // Every change it covers is here already: nothing to do (merging is idempotent).
            if held.applied.covers(dots) { return nil }
        }
        var entry = entries.removeValue(forKey: key)
            ?? Entry(type: type.name, value: type.empty(), applied: CausalContext(), digest: 0)
        guard type.mergeInPlace(&entry.value, value) else {
            entries[key] = entry
            throw ReplicationError(.typeMismatch, key: key, "a value of key \(key) is not a \(type.name)")
        }
        entry.applied.merge(dots)
        let merged = entry.value
        store(key, entry)
        return merged
    }

    /// Drops every trace of the removed replica `removed` from the value of `key` and from the
    /// changes it covers (pruning's last step, which every node takes by itself).
    mutating func forget(_ removed: ReplicaID, in key: String) {
        guard var entry = entries.removeValue(forKey: key) else { return }
        let taken = entry.takeValue()
        if var value = taken as? any PrunableCRDT {
            value.forget(removed)
            entry.value = value
        } else {
            entry.value = taken
        }
        entry.applied.forget(removed)
        entries[key] = entry
        stale.insert(key)
    }

    /// Stores `entry`; its digest is brought up to date by the next ``refreshDigests()``.
    private mutating func store(_ key: String, _ entry: Entry) {
        entries[key] = entry
        stale.insert(key)
        recent.insert(key)
    }

    /// Starts a new anti-entropy period: keys changed two periods ago count as quiet again.
    mutating func beginAntiEntropyPeriod() {
        previous = recent
        recent = []
    }

    /// Whether `key` changed in this period or the one before.
    func isSettling(_ key: String) -> Bool { recent.contains(key) || previous.contains(key) }

    /// Brings the digests of the keys changed since the last call, and the total, up to date
    /// (before anti-entropy compares them).
    mutating func refreshDigests() {
        for key in stale {
            guard var entry = entries[key] else { continue }
            let digest = Self.digest(entry.applied)
            total ^= entry.digest ^ digest
            entry.digest = digest
            entries[key] = entry
        }
        stale = []
    }

    /// Adds a delta made here, with its one dot, to what the key's holders are to be sent.
    private mutating func enqueue(key: String, type: CRDTType, delta: any CRDT, dot: Dot) {
        let holders = replicaSet(of: key)
        let limit = pendingLimit
        for peer in peers where holders?.contains(peer) ?? true {
            // Changed where it is: one lookup of the peer, one of the key.
            Self.enqueue(into: &pending[peer, default: [:]], key: key, type: type, delta: delta, dot: dot, limit: limit)
        }
    }

    private static func enqueue(
        into queue: inout [String: Pending], key: String, type: CRDTType, delta: any CRDT, dot: Dot, limit: Int
    ) {
        if let index = queue.index(forKey: key) {
            if type.mergeInPlace(&queue.values[index].delta, delta) { queue.values[index].dots.insert(dot) }
        } else if queue.count < limit {
            queue[key] = Pending(delta: delta, type: type.name, dots: CausalContext(dots: CollectionOfOne(dot)))
        }
    }

    /// Puts back deltas taken for `peer` that did not reach it, merged with what came since.
    mutating func requeue(_ items: [(key: String, pending: Pending)], for peer: NodeID, types: [String: CRDTType]) {
        guard peers.contains(peer) else { return }
        var queue = pending.removeValue(forKey: peer) ?? [:]
        for (key, item) in items {
            if var newer = queue.removeValue(forKey: key), let type = types[item.type] {
                // The older delta first, then the newer merged into it: a join, so either order is right.
                var older = item
                if type.mergeInPlace(&older.delta, newer.delta) {
                    older.dots.merge(newer.dots)
                    newer = older
                }
                queue[key] = newer
            } else {
                queue[key] = item
            }
        }
        pending[peer] = queue
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

    /// Every quiet key's digest (see ``isSettling(_:)``), of the keys `peer` holds too (all keys
    /// for `nil`).
    func digests(for peer: NodeID? = nil) -> [String: UInt64] {
        var digests: [String: UInt64] = [:]
        for (key, entry) in entries where !isSettling(key) && (peer.map { replicates($0, key) } ?? true) {
            digests[key] = entry.digest
        }
        return digests
    }

    /// Every quiet key's digest.
    var digests: [String: UInt64] { digests(for: nil) }

    /// Compares a peer's digests with this store's: the keys whose values this store should send
    /// (they differ, or the peer lacks them), and the keys it wants the peer's values of.
    func compare(_ theirs: [String: UInt64], from peer: NodeID? = nil) -> (send: [String], want: [String]) {
        var send: [String] = []
        var want: [String] = []
        for (key, digest) in theirs where !isSettling(key) && isReplica(of: key) {
            guard let mine = entries[key] else {
                want.append(key)
                continue
            }
            if mine.digest != digest {
                send.append(key)
                want.append(key)
            }
        }
        for key in entries.keys where theirs[key] == nil && !isSettling(key) && (peer.map { replicates($0, key) } ?? true) {
            send.append(key)
        }
        return (send, want)
    }

    /// The whole value of `key`, for a peer.
    func state(_ key: String) -> (type: String, value: any CRDT, applied: CausalContext)? {
        entries[key].map { ($0.type, $0.value, $0.applied) }
    }

    /// A digest of the changes a value covers, the same on every node for the same changes.
    static func digest(_ context: CausalContext) -> UInt64 {
        var hash = FNV1a()
        context.addCanonically(to: &hash)
        return hash.value == 0 ? 1 : hash.value
    }
}
