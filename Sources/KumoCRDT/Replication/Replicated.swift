import Kumo

/// One replicated value: read it, change it, and follow its changes, on any node.
public struct Replicated<Value: CRDT>: Sendable {
    /// The key.
    public let key: String
    let replicator: Replicator
    let type: CRDTType

    init(key: String, replicator: Replicator) {
        self.key = key
        self.replicator = replicator
        self.type = CRDTType(Value.self)
    }

    /// This node's value now.
    public var value: Value {
        get async { await replicator.value(key) as? Value ?? Value() }
    }

    /// Changes the value with `change` and returns once `consistency` is reached: `.local` at
    /// once (the change spreads by gossip), `.majority()` or `.all()` once that many replicas
    /// applied it.
    /// - Throws: ``ReplicationError`` with code ``ReplicationError/Code/consistencyNotReached``
    ///   saying how many replicas acknowledged (the change stays applied here and spreads later),
    ///   or ``ReplicationError/Code/typeMismatch`` when the key holds another type.
    public func update(consistency: WriteConsistency = .local, _ change: sending (inout Mutator<Value>) -> Void) async throws {
        let (_, item) = try await replicator.update(key, as: type, encode: consistency.level != .local, change)
        guard let item else { return }
        let peers = await replicator.peers
        let replicas = peers.count + 1
        try await replicator.replicate(
            item, needed: consistency.needed(of: replicas), of: replicas, peers: peers, timeout: consistency.timeout)
    }

    /// The value, merged from `consistency`'s number of replicas (`.local`: this node's).
    /// - Throws: ``ReplicationError`` with code ``ReplicationError/Code/consistencyNotReached``
    ///   saying how many answered.
    public func read(consistency: ReadConsistency = .local) async throws -> Value {
        guard consistency.level != .local else { return await value }
        await replicator.register(type)
        let peers = await replicator.peers
        let replicas = peers.count + 1
        let items = try await replicator.gather(
            key, needed: consistency.needed(of: replicas), of: replicas, peers: peers, timeout: consistency.timeout)
        return await replicator.mergeRead(items, key: key, as: Value.self)
    }

    /// The value after every change, local or from a peer, from now on.
    public var changes: AsyncStream<Value> {
        get async {
            let raw = await replicator.subscribe(key)
            return AsyncStream(Value.self, bufferingPolicy: .bufferingNewest(64)) { continuation in
                let task = Task {
                    for await value in raw {
                        if let value = value as? Value { continuation.yield(value) }
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in task.cancel() }
            }
        }
    }
}
