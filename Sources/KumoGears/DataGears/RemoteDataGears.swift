import Kumo

/// A DGM of another Code Gear Manager, reached through the cluster: the same operations as a
/// local one, with the same encoded gears on the wire whether the other manager lives on another
/// machine or in this process.
///
/// A `take` waits remotely without consuming (a peek), then consumes the gear in a short second
/// call, retrying if another reader got it first: a gear is consumed only by a call whose caller
/// is there to receive it at once. When the other manager's node dies, leaves or cannot be
/// reached, a waiting operation fails with ``GearError`` `managerGone`, naming the DGM and the node.
///
/// A DGM whose name starts with `compressed` (`compressedremote`) is sent gears zlib-compressed;
/// what is read from it arrives as it was stored, and is decompressed when it is decoded.
public struct RemoteDataGears: DataGears {
    public let name: String
    /// The node of the other manager.
    public let node: NodeID
    /// The other manager's name.
    public let manager: String
    let system: ClusterSystem

    init(name: String, manager: String, node: NodeID, system: ClusterSystem) {
        self.name = name
        self.manager = manager
        self.node = node
        self.system = system
    }

    private func service() throws -> DataGearService {
        try DataGearService.resolve(id: .named(DataGearService.actorName(of: manager), on: node), using: system)
    }

    /// How long an operation may wait: a remote take or peek waits as long as it takes.
    private static let patience = Duration.seconds(365 * 24 * 3600)

    /// Whether gears are sent to this DGM compressed.
    public var isCompressed: Bool { name.hasPrefix("compressed") }

    public func putGear(_ gear: DataGear, key: String) async throws {
        let sent = try gear.forSending(compressed: isCompressed)
        try await mapped { try await service().put(sent, key: key) }
    }

    public func updateGear(_ gear: DataGear, key: String) async throws {
        let sent = try gear.forSending(compressed: isCompressed)
        try await mapped { try await service().update(sent, key: key) }
    }

    public func peekGear(_ key: String) async throws -> DataGear {
        try await mapped { try await system.withCallTimeout(Self.patience) { try await service().peek(key) } }
    }

    public func takeGear(_ key: String) async throws -> DataGear {
        while true {
            try Task.checkCancellation()
            _ = try await peekGear(key)
            if let gear = try await mapped({ try await service().tryTake(key) }) { return gear }
        }
    }

    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ClusterError
            where [ClusterError.Code.nodeGone, .nodeUnreachable, .connectionLost, .shuttingDown, .unknownActor].contains(error.code)
        {
            throw GearError(.managerGone, "DGM \(name) (manager \(manager) on node \(node)) is gone: \(error.message)")
        }
    }
}
