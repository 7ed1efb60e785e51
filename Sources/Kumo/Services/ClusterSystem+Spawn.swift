import KumoCore

extension ClusterSystem {
    /// Lets other nodes create actors of type `Act` on this node with ``spawn(_:on:)``.
    public func registerSpawnable<Act: DistributedActor>(
        _ type: Act.Type, factory: @escaping @Sendable (ClusterSystem) -> Act
    ) where Act.ID == ActorID {
        spawnFactories.withLock {
            $0[String(reflecting: type)] = { system in
                let actor = factory(system)
                return (actor.id, actor)
            }
        }
    }

    func spawnFactory(_ typeName: String) -> (@Sendable (ClusterSystem) -> (ActorID, any DistributedActor))? {
        spawnFactories.withLock { $0[typeName] }
    }

    /// Creates an actor of type `Act` on `target` (which must have registered the type with
    /// ``registerSpawnable(_:factory:)``) and returns a reference to it. The actor lives until its
    /// node shuts down or ``release(_:)`` lets it go.
    /// - Throws: ``ClusterError`` with code `unknownType`, naming the type and the node, when the
    ///   node has not registered the type.
    public func spawn<Act: DistributedActor>(_ type: Act.Type, on target: NodeID) async throws -> Act
    where Act.ActorSystem == ClusterSystem {
        let name = String(reflecting: type)
        if target == node {
            guard let factory = spawnFactory(name), case let (id, made) = factory(self), let actor = made as? Act else {
                throw ClusterError(.unknownType, "\(name) is not registered for remote spawn on node \(settings.name) \(node)", node: node)
            }
            await spawner?.whenLocal { $0.keep(actor, at: id.path) }
            return actor
        }
        let remote = try Spawner.resolve(id: .named(Spawner.actorName, on: target), using: self)
        let id = try await remote.spawn(name)
        return try Act.resolve(id: id, using: self)
    }

    /// Lets a spawned actor on this node go: it is deinitialized once nothing else holds it.
    public func release<Act: DistributedActor>(_ actor: Act) async where Act.ID == ActorID {
        let path = actor.id.path
        await spawner?.whenLocal { $0.release(path) }
    }
}
