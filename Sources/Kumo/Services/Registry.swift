import KumoCore

/// The receptionist's state: which actors each node has registered under which keys.
///
/// Every node owns its own registrations and bumps their version when they change; views merge by
/// keeping, for each node, the higher version. A pure value; its digest (the XOR of one hash per
/// node and version) is kept up to date, so gossip tells in constant time whether views agree.
struct Registry: Sendable, Hashable {
    /// One node's registrations.
    struct NodeEntries: Sendable, Hashable, Codable {
        var version: UInt64 = 0
        var entries: [String: [ActorID]] = [:]
    }

    /// Registrations by owning node.
    private(set) var nodes: [NodeID: NodeEntries] = [:]
    /// The XOR of ``hash(_:_:)`` over the nodes.
    private(set) var digest: UInt64 = 0

    init() {}

    /// Replaces `node`'s entries (nil removes them), keeping the digest.
    private mutating func set(_ node: NodeID, _ entries: NodeEntries?) {
        if let old = nodes[node] { digest ^= Self.hash(node, old.version) }
        nodes[node] = entries
        if let entries { digest ^= Self.hash(node, entries.version) }
    }

    /// What the digest counts of one node's entries: whose they are and their version.
    static func hash(_ node: NodeID, _ version: UInt64) -> UInt64 {
        var hash = FNV1a()
        hash.add(node.address.host)
        hash.add(UInt64(truncatingIfNeeded: node.address.port))
        hash.add(node.incarnation)
        hash.add(version)
        var mix = SplitMix64(seed: hash.value)
        return mix.next()
    }

    /// All actors registered under `key`, on nodes for which `isAlive` holds, in a stable order.
    func actors(for key: String, isAlive: (NodeID) -> Bool = { _ in true }) -> [ActorID] {
        nodes.filter { isAlive($0.key) }
            .flatMap { $0.value.entries[key] ?? [] }
            .sorted { ($0.node, $0.path.description) < ($1.node, $1.path.description) }
    }

    /// Every key with at least one actor.
    var keys: Set<String> {
        Set(nodes.values.flatMap { $0.entries.filter { !$0.value.isEmpty }.keys })
    }

    /// Adds `actor` under `key` for its own node; returns whether it was new.
    @discardableResult
    mutating func register(_ actor: ActorID, key: String) -> Bool {
        var own = nodes[actor.node] ?? NodeEntries()
        guard !(own.entries[key]?.contains(actor) ?? false) else { return false }
        own.entries[key, default: []].append(actor)
        own.version += 1
        set(actor.node, own)
        return true
    }

    /// Removes `actor` from every key it is registered under; returns whether anything changed.
    @discardableResult
    mutating func remove(_ actor: ActorID) -> Bool {
        guard var own = nodes[actor.node] else { return false }
        var changed = false
        for (key, actors) in own.entries where actors.contains(actor) {
            let rest = actors.filter { $0 != actor }
            own.entries[key] = rest.isEmpty ? nil : rest
            changed = true
        }
        guard changed else { return false }
        own.version += 1
        set(actor.node, own)
        return true
    }

    /// Drops every registration of `node` (it is down or has left).
    @discardableResult
    mutating func removeNode(_ node: NodeID) -> Bool {
        guard nodes[node] != nil else { return false }
        set(node, nil)
        return true
    }

    /// Merges another view; returns the keys whose actors changed. `accept` filters nodes whose
    /// entries may be taken in (members that are not down).
    @discardableResult
    mutating func merge(_ other: Registry, accept: (NodeID) -> Bool) -> Set<String> {
        var changed: Set<String> = []
        guard other.digest != digest else { return changed }
        for (node, theirs) in other.nodes where accept(node) {
            let mine = nodes[node]
            guard theirs.version > (mine?.version ?? 0) else { continue }
            let before = mine?.entries ?? [:]
            for key in Set(before.keys).union(theirs.entries.keys) where before[key] != theirs.entries[key] {
                changed.insert(key)
            }
            set(node, theirs)
        }
        return changed
    }
}

extension Registry: Codable {
    private enum CodingKeys: String, CodingKey {
        case nodes
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        for (node, entries) in try container.decode([NodeID: NodeEntries].self, forKey: .nodes) {
            set(node, entries)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodes, forKey: .nodes)
    }
}
