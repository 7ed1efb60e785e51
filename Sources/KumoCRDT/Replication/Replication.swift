import Kumo
import Synchronization

/// The replication plugin: install it on every node that holds replicated state.
///
/// ```swift
/// settings.plugins.install(Replication())
/// let system = try await ClusterSystem(settings: settings)
/// let hits = try system.replicated(PNCounter.self, key: "hits")
/// try await hits.update { $0.increment() }
/// print(try await hits.read(consistency: .majority()).value)
/// ```
///
/// Every key is replicated on every node that runs the plugin. Changes spread as deltas every
/// ``gossipInterval`` to every peer, and each ``antiEntropyInterval`` the node compares its
/// replicas with a random peer's and repairs both, so a node that missed deltas (a partition, a
/// restart) catches up.
public struct Replication: ClusterPlugin {
    public var name: String { "kumo.crdt" }

    /// How often deltas are sent.
    public var gossipInterval: Duration
    /// How often replicas are compared with a random peer's.
    public var antiEntropyInterval: Duration
    /// The largest gossip or anti-entropy message, roughly: more goes in further messages.
    public var maxMessageBytes: Int
    /// The most keys in one gossip message.
    public var maxKeysPerMessage: Int
    /// Where the node keeps its replicas on disk (an embedded SQLite database); `nil` keeps them
    /// in memory only. With a directory, every change is on disk before it is acknowledged (an
    /// update returns, a peer's delivery is answered), and a node started with the same directory
    /// resumes with what it had, then catches up with the others.
    public var dataDirectory: String?
    /// How often the values of changed keys are written whole, so the changes before them can go.
    public var snapshotInterval: Duration
    let types: [CRDTType]

    /// Replication, knowing the CRDT types of `types` from the start (a key's handle makes its
    /// type known too; a delta of a type the node does not know is refused, naming it).
    public init(
        types: [any CRDT.Type] = [], gossipInterval: Duration = .milliseconds(100),
        antiEntropyInterval: Duration = .seconds(1), maxMessageBytes: Int = 256 << 10, maxKeysPerMessage: Int = 4096,
        dataDirectory: String? = nil, snapshotInterval: Duration = .seconds(5)
    ) {
        self.dataDirectory = dataDirectory
        self.snapshotInterval = snapshotInterval
        self.types = Self.builtIn + types.map { Self.crdtType($0) }
        self.gossipInterval = gossipInterval
        self.antiEntropyInterval = antiEntropyInterval
        self.maxMessageBytes = max(1024, maxMessageBytes)
        self.maxKeysPerMessage = max(1, maxKeysPerMessage)
    }

    private static func crdtType<Value: CRDT>(_ type: Value.Type) -> CRDTType { CRDTType(type) }

    /// The types every node knows: the counters, the flag, and sets, registers and maps of
    /// strings and integers.
    static let builtIn: [CRDTType] = [
        CRDTType(GCounter.self), CRDTType(PNCounter.self), CRDTType(Flag.self),
        CRDTType(ORSet<String>.self), CRDTType(ORSet<Int>.self),
        CRDTType(LWWRegister<String>.self), CRDTType(LWWRegister<Int>.self),
        CRDTType(MVRegister<String>.self), CRDTType(MVRegister<Int>.self),
        CRDTType(ORMap<String, PNCounter>.self), CRDTType(ORMap<String, GCounter>.self),
        CRDTType(ORMap<String, LWWRegister<String>>.self), CRDTType(ORMap<String, ORSet<String>>.self),
    ]

    public func start(_ system: ClusterSystem) async throws {
        let storage = try dataDirectory.map { try ReplicaStorage(directory: $0) }
        let replicator = Replicator(system: system, settings: self, storage: storage)
        try await replicator.load()
        try system.hostSystemActor(named: ReplicatorAgent.actorName) {
            ReplicatorAgent(replicator: replicator, actorSystem: system)
        }
        Self.running.withLock { $0[ObjectIdentifier(system)] = replicator }
        await replicator.start()
    }

    public func stop(_ system: ClusterSystem) async {
        let replicator = Self.running.withLock { $0.removeValue(forKey: ObjectIdentifier(system)) }
        await replicator?.stop()
    }

    /// The nodes `system` replicates to now (not itself).
    public static func peers(of system: ClusterSystem) async -> [NodeID] {
        guard let replicator = replicator(of: system) else { return [] }
        return await replicator.peers.sorted()
    }

    /// How many keys `system` holds.
    public static func keyCount(of system: ClusterSystem) async -> Int {
        await replicator(of: system)?.keyCount ?? 0
    }

    /// Whether `system` holds `key` (always, for a key every node holds).
    public static func holds(_ key: String, on system: ClusterSystem) async -> Bool {
        guard let replicator = replicator(of: system) else { return false }
        let holds = await replicator.isReplica(of: key)
        let value = await replicator.value(key)
        return holds && value != nil
    }

    static let running = Mutex<[ObjectIdentifier: Replicator]>([:])

    static func replicator(of system: ClusterSystem) -> Replicator? {
        running.withLock { $0[ObjectIdentifier(system)] }
    }
}

extension ClusterSystem {
    /// The replicated value under `key`, of type `type`: the same key on every node that runs
    /// ``Replication`` is one value.
    ///
    /// - Parameters:
    ///   - replicas: How many nodes hold the key: the `replicas` members that win a rendezvous
    ///     hash of the key, so the keys spread over the cluster and a membership change moves
    ///     only some of them. `nil` (the default): every node. Any node may read and change the
    ///     key; one that does not hold it asks a holder.
    /// - Throws: ``ReplicationError`` with code ``ReplicationError/Code/notInstalled`` when this
    ///   node does not run the plugin.
    public func replicated<Value: CRDT>(_ type: Value.Type, key: String, replicas: Int? = nil) throws -> Replicated<Value> {
        guard let replicator = Replication.replicator(of: self) else {
            throw ReplicationError(.notInstalled, key: key, "node \(settings.name) does not run the Replication plugin")
        }
        return Replicated(key: key, replicas: replicas, replicator: replicator)
    }
}
