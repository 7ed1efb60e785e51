import KumoCore

/// Remote spawn on every node, the system actor `kumo.spawn`: it creates actors of the types
/// registered with ``ClusterSystem/registerSpawnable(_:factory:)`` for other nodes, and keeps
/// them alive until ``ClusterSystem/release(_:)`` or shutdown.
distributed actor Spawner {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo.spawn"

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    private var spawned: [ActorID.Path: any DistributedActor] = [:]

    /// Creates an actor of a type registered for remote spawning.
    distributed func spawn(_ typeName: String) throws -> ActorID {
        guard let factory = actorSystem.spawnFactory(typeName) else {
            throw ClusterError(
                .unknownType,
                "\(typeName) is not registered for remote spawn on node \(actorSystem.settings.name) \(actorSystem.node)",
                node: actorSystem.node)
        }
        let (id, actor) = factory(actorSystem)
        spawned[id.path] = actor
        return id
    }

    func keep(_ actor: any DistributedActor, at path: ActorID.Path) {
        spawned[path] = actor
    }

    func release(_ path: ActorID.Path) {
        spawned.removeValue(forKey: path)
    }

    func releaseAll() {
        spawned = [:]
    }
}
