import Kumo

/// A Code Gear Manager's local DGM as other nodes reach it: the system actor
/// `kumo.gears.<manager>` on the manager's node.
distributed actor DataGearService {
    typealias ActorSystem = ClusterSystem

    static func actorName(of manager: String) -> String { "kumo.gears.\(manager)" }

    let dgm: DataGearManager

    /// The node's event loop, as the DGM: a remote operation runs where its frame was read.
    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    init(dgm: DataGearManager, actorSystem: ClusterSystem) {
        self.dgm = dgm
        self.actorSystem = actorSystem
    }

    distributed func put(_ gear: DataGear, key: String) async throws {
        try await dgm.putGear(gear, key: key)
    }

    distributed func update(_ gear: DataGear, key: String) async throws {
        try await dgm.updateGear(gear, key: key)
    }

    /// Waits until `key` holds a gear and returns the oldest, leaving it there.
    distributed func peek(_ key: String) async throws -> DataGear {
        try await dgm.peekGear(key)
    }

    /// Consumes the oldest gear under `key`, if there is one now.
    distributed func tryTake(_ key: String) async throws -> DataGear? {
        try await dgm.tryTakeGear(key)
    }
}
