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
        let result = try await replicator.update(key, as: type, replicas: replicas, consistency: consistency, change)
        guard let item = result.item, consistency.level != .local || !result.holding else { return }
        // A node that does not hold the key has the change reach at least one holder (it does not
        // count itself).
        let replicas = result.holders.count + (result.holding ? 1 : 0)
        let needed = result.holding ? consistency.needed(of: replicas) : max(1, consistency.needed(of: replicas)) + 1
        try await replicator.replicate(
            item, needed: needed, of: replicas + (result.holding ? 0 : 1), peers: result.holders,
            timeout: max(consistency.timeout, .seconds(3)))
    }

    /// The value, merged from `consistency`'s number of replicas (`.local`: this node's, or a
    /// holder's when this node does not hold the key).
    /// - Throws: ``ReplicationError`` with code ``ReplicationError/Code/consistencyNotReached``
    ///   saying how many answered.
    public func read(consistency: ReadConsistency = .local) async throws -> Value {
        let (local, holding, holders) = await replicator.readLocal(key, replicas: replicas)
        if consistency.level == .local, holding { return local as? Value ?? Value() }
        await replicator.register(type)
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
