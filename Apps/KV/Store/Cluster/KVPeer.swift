import Kumo

/// A read-modify-write decided at a key's primary, so that concurrent ones do not lose updates.
enum AtomicOp: Sendable, Codable {
    case set(String, [UInt8], expiresAt: UInt64?, ifAbsent: Bool)
    case del(String)
    case incrBy(String, Int64)
}

/// What an ``AtomicOp`` came to.
enum AtomicOutcome: Sendable, Codable, Equatable {
    /// SET NX/XX: whether it was set; DEL: whether the key existed.
    case done(Bool)
    /// INCR and friends: the new value.
    case integer(Int64)
    /// The reply is `-ERR message`.
    case failure(String)
}

/// A `kumo-kv` node as the other nodes reach it: the distributed actor `kumo-kv`, on the node's
/// event loop (applying records is short, and a replica's reply goes out where the call came in).
distributed actor KVPeer {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo-kv"

    let node: KVNode

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    init(node: KVNode, actorSystem: ClusterSystem) {
        self.node = node
        self.actorSystem = actorSystem
    }

    /// Applies records as a replica (a write, or re-replication): the higher version wins.
    /// The records come encoded (``KVRecordCoding``).
    distributed func apply(_ records: [UInt8]) throws {
        try node.applyHere(KVRecordCoding.decode(records))
    }

    /// The live values under `keys` here (both encoded with ``KVListCoding``).
    distributed func get(_ keys: [UInt8]) throws -> [UInt8] {
        let now = KVStore.now()
        return KVListCoding.encode(try KVListCoding.decodeKeys(keys).map { node.store.value($0, now: now) })
    }

    /// The entries under `keys` here (with versions and expiry), for TTL.
    distributed func entries(_ keys: [String]) -> [KVEntry?] {
        keys.map { node.store.entry($0) }
    }

    /// Decides `op` as the key's primary and replicates the result.
    distributed func atomic(_ op: AtomicOp) async -> AtomicOutcome {
        await node.runAtomic(op)
    }

    /// The live keys here.
    distributed func keys() -> [String] {
        node.store.keys()
    }

    /// Deletes everything here.
    distributed func flush() throws {
        try node.store.removeAll()
    }
}
