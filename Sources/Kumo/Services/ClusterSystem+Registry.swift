import KumoCore

extension ClusterSystem {
    /// Registers a local actor under `key`; every node can then find it with ``lookup(_:)``. The
    /// entry disappears everywhere when the actor is deinitialized or its node is down or leaves.
    public func register<Act: DistributedActor>(_ actor: Act, as key: String) async throws where Act.ID == ActorID {
        guard actor.id.node == node else {
            throw ClusterError(.unknownActor, "only local actors can be registered; \(actor.id) lives on another node", node: node)
        }
        noteInteresting(actor.id.path)
        let id = actor.id
        guard let receptionist, await receptionist.whenLocal({ $0.register(id, key: key) }) != nil else {
            throw notRunning()
        }
    }

    /// The actors registered under `key` on any live member (`whereis`).
    public func lookup(_ key: String) async -> [ActorID] {
        await receptionist?.whenLocal { $0.lookup(key) } ?? []
    }

    /// The actors of type `Act` registered under `key`, resolved for calling.
    public func lookup<Act: DistributedActor>(_ type: Act.Type, _ key: String) async throws -> [Act]
    where Act.ActorSystem == ClusterSystem {
        try await lookup(key).map { try Act.resolve(id: $0, using: self) }
    }

    /// The actors under `key`, as a stream: the current list, then each new list when it changes.
    public func listing(_ key: String) async -> AsyncStream<[ActorID]> {
        await receptionist?.whenLocal { $0.listing(key) } ?? AsyncStream { $0.finish() }
    }
}
