import Kumo

/// A Topology Manager a Code Gear Manager has joined: its name there, and the labels it sees
/// that manager's neighbours under.
public struct TopologyMembership: Sendable, Equatable, CustomStringConvertible {
    /// The Topology Manager.
    public var topology: TopologyID
    /// The name it gave this manager (`node0`, …), once it has answered.
    public var name: String
    /// What its labels are prefixed with here.
    public var prefix: String
    /// The DGMs it links this manager with, as known here (prefixed), sorted.
    public var labels: [String]
    /// Whether every name of its graph is held.
    public var isComplete: Bool

    public var description: String { "\(name) in \(topology) (sees \(labels.joined(separator: ", ")))" }
}

/// A joined topology, as the manager keeps it.
struct JoinedTopology: Sendable {
    var prefix: String
    var version: UInt64?
    var name = ""
    var labels: Set<String> = []
    var complete = false
    var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    var nextWaiter: UInt64 = 0
}

extension CodeGearManager {
    /// Joins the Topology Manager `named` on the node at `address`: it names this manager
    /// (`node0`, `node1`, … in join order, or the graph's names), and its neighbours' DGMs appear
    /// here under the labels of the graph's edges (or `parent`, `child0`, … of a tree), each
    /// prefixed with `prefix`. Links follow the topology as managers join and leave.
    ///
    /// This node must be in the Topology Manager's cluster (joined through it with `--seed`, or
    /// any member), so that it notices when this node dies. With a graph, the call returns once
    /// every name of the graph is held, so every neighbour is there to put to; with a tree, at
    /// once. A manager may join several Topology Managers, and holds a name in each; give each
    /// its own `prefix` so their labels stay apart.
    /// - Throws: ``GearError`` `topology` when this node is not in that cluster, when the graph
    ///   is full, when another joined topology has the same prefix, or when the graph is not
    ///   complete within `timeout`; `ClusterError` when the node cannot be reached.
    @discardableResult
    public func join(
        topology address: NodeAddress, named topologyName: String = "main", prefix: String = "",
        timeout: Duration = .seconds(120)
    ) async throws -> TopologyMembership {
        let deadline = ContinuousClock.now + timeout
        let node = try await system.connect(to: address)
        let topology = TopologyID(name: topologyName, node: node)
        try await waitForMember(node, of: address, until: deadline)
        try state.withLock { (state) throws(GearError) in
            if state.topologies[topology] != nil { return }
            if let other = state.topologies.first(where: { $0.value.prefix == prefix }) {
                throw GearError(
                    .topology,
                    "manager \(name) already joined \(other.key) with the prefix '\(prefix)'; give each topology its own prefix")
            }
            state.topologies[topology] = JoinedTopology(prefix: prefix)
        }
        do {
            let service = try TopologyService.resolve(id: .named(TopologyService.actorName(of: topologyName), on: node), using: system)
            apply(try await service.register(manager: name, node: system.node))
            try await waitUntilComplete(topology, until: deadline)
        } catch {
            await release(topology)
            if let error = error as? ClusterError, error.code == .unknownActor {
                throw GearError(.topology, "no Topology Manager named \(topologyName) runs at \(address)")
            }
            throw error
        }
        guard let membership = topologies.first(where: { $0.topology == topology }) else {
            throw GearError(.closed, "manager \(name) closed while joining \(topology)")
        }
        return membership
    }

    /// The Topology Managers joined, and the name held in each.
    public var topologies: [TopologyMembership] {
        state.withLock { state in
            state.topologies.map { id, joined in
                TopologyMembership(
                    topology: id, name: joined.name, prefix: joined.prefix, labels: joined.labels.sorted(),
                    isComplete: joined.complete)
            }.sorted { $0.prefix < $1.prefix }
        }
    }

    /// Leaves `topology`: its links are forgotten and its name here freed there.
    func release(_ topology: TopologyID) async {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard let joined = state.topologies.removeValue(forKey: topology) else { return [] }
            for label in joined.labels { state.remotes.removeValue(forKey: label) }
            return Array(joined.waiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: GearError(.closed, "manager \(name) left \(topology)")) }
        guard let service = try? TopologyService.resolve(
            id: .named(TopologyService.actorName(of: topology.name), on: topology.node), using: system)
        else { return }
        try? await system.withCallTimeout(.seconds(2)) { try await service.release(manager: name, node: system.node) }
    }

    /// Applies what a Topology Manager says this manager sees, unless a newer word came first.
    func apply(_ update: TopologyUpdate) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard var joined = state.topologies[update.topology] else { return [] }
            if let version = joined.version, version >= update.version { return [] }
            joined.version = update.version
            joined.name = update.name
            var labels: Set<String> = []
            for link in update.links {
                let label = joined.prefix + link.label
                labels.insert(label)
                state.remotes[label] = RemoteDataGears(
                    name: label, manager: link.target.manager, node: link.target.node, system: system)
            }
            for label in joined.labels.subtracting(labels) { state.remotes.removeValue(forKey: label) }
            joined.labels = labels
            joined.complete = update.complete
            var ready: [CheckedContinuation<Void, any Error>] = []
            if update.complete {
                ready = Array(joined.waiters.values)
                joined.waiters = [:]
            }
            state.topologies[update.topology] = joined
            return ready
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until this node sees the Topology Manager's node as a member that is up.
    private func waitForMember(_ node: NodeID, of address: NodeAddress, until deadline: ContinuousClock.Instant) async throws {
        while await !system.members().contains(where: { $0.node == node && $0.status == .up }) {
            guard ContinuousClock.now < deadline else {
                throw GearError(
                    .topology,
                    "the Topology Manager's node at \(address) is not a member of this node's cluster: join it first (--seed \(address))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func waitUntilComplete(_ topology: TopologyID, until deadline: ContinuousClock.Instant) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.complete(topology) }
            group.addTask {
                try await Task.sleep(until: deadline)
                let held = self.topologies.first { $0.topology == topology }
                throw GearError(
                    .topology,
                    "\(topology) was not complete in time: manager \(self.name) holds \(held?.name ?? "no name") and sees \(held?.labels ?? [])")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func complete(_ topology: TopologyID) async throws {
        let id = state.withLock { state -> UInt64? in
            guard var joined = state.topologies[topology], !joined.complete else { return nil }
            joined.nextWaiter += 1
            state.topologies[topology] = joined
            return joined.nextWaiter
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    guard var joined = state.topologies[topology] else { return true }
                    if joined.complete || Task.isCancelled { return true }
                    joined.waiters[id] = continuation
                    state.topologies[topology] = joined
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.topologies[topology]?.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}
