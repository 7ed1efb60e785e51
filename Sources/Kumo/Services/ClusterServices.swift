import KumoCore

/// The services every node runs beside its membership agent — the registry, lifecycle watches,
/// remote spawn and the cluster log — installed through the same plugin API as the add-on
/// modules, before them, each a system actor of its own.
struct ClusterServices: ClusterPlugin {
    var name: String { "kumo.services" }

    func start(_ system: ClusterSystem) async throws {
        let receptionist = try system.hostSystemActor(named: Receptionist.actorName) { Receptionist(actorSystem: system) }
        await receptionist.whenLocal { await $0.start() }
        let watch = try system.hostSystemActor(named: DeathWatch.actorName) { DeathWatch(actorSystem: system) }
        await watch.whenLocal { await $0.start() }
        try system.hostSystemActor(named: Spawner.actorName) { Spawner(actorSystem: system) }
        let log = try system.hostSystemActor(named: ClusterLog.actorName) { ClusterLog(actorSystem: system) }
        try await log.whenLocal { try await $0.start() }
    }

    func stop(_ system: ClusterSystem) async {
        await system.receptionist?.whenLocal { $0.stop() }
        await system.deathWatch?.whenLocal { $0.stop() }
        await system.spawner?.whenLocal { $0.releaseAll() }
        await system.clusterLog?.whenLocal { $0.stop() }
    }
}

extension ClusterSystem {
    var receptionist: Receptionist? { systemActor(named: Receptionist.actorName) }
    var deathWatch: DeathWatch? { systemActor(named: DeathWatch.actorName) }
    var spawner: Spawner? { systemActor(named: Spawner.actorName) }
    var clusterLog: ClusterLog? { systemActor(named: ClusterLog.actorName) }
}
