import Kumo

/// One replicated value: read it, change it, and follow its changes, on any node.
public struct Replicated<Value: CRDT>: Sendable {
    /// The key.
    public let key: String
    /// How many nodes hold the key; `nil`: every node that runs ``Replication``.
    public let replicas: Int?
    let replicator: Replicator
    let type: CRDTType

    init(key: String, replicas: Int?, replicator: Replicator) {
        self.key = key
        self.replicas = replicas.map { max(1, $0) }
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
        await replicator.place(key, replicas: replicas)
        let holding = await replicator.isReplica(of: key)
        let holders = await replicator.holders(of: key)
        let replicas = holders.count + (holding ? 1 : 0)
        if !holding {
            // This node does not hold the key: it catches up from a holder first, so the change
            // starts from the key's value and from this node's own earlier changes.
            let items = try await replicator.gather(key, needed: 2, of: replicas + 1, peers: holders, timeout: max(consistency.timeout, .seconds(3)))
            _ = await replicator.mergeRead(items, key: key, as: Value.self)
        }
        let stronger = consistency.level != .local || !holding
        let (_, item) = try await replicator.update(key, as: type, encode: stronger, change)
        guard let item, stronger else { return }
        // A node that does not hold the key has the change reach at least one holder.
        let needed = holding ? consistency.needed(of: replicas) : max(1, consistency.needed(of: replicas)) + 1
        try await replicator.replicate(item, needed: needed, of: replicas + (holding ? 0 : 1), peers: holders, timeout: max(consistency.timeout, .seconds(3)))
    }

    /// The value, merged from `consistency`'s number of replicas (`.local`: this node's).
    /// - Throws: ``ReplicationError`` with code ``ReplicationError/Code/consistencyNotReached``
    ///   saying how many answered.
    public func read(consistency: ReadConsistency = .local) async throws -> Value {
        await replicator.place(key, replicas: replicas)
        let holding = await replicator.isReplica(of: key)
        guard consistency.level != .local || !holding else { return await value }
        await replicator.register(type)
        let holders = await replicator.holders(of: key)
        let replicas = holders.count + (holding ? 1 : 0)
        // This node's own value counts as an answer only when it holds the key.
        let needed = holding ? consistency.needed(of: replicas) : max(1, consistency.needed(of: replicas)) + 1
        let items = try await replicator.gather(
            key, needed: needed, of: replicas + (holding ? 0 : 1), peers: holders, timeout: max(consistency.timeout, .seconds(3)))
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
