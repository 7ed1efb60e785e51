import Kumo
import Logging

/// The Topology Manager on its node: the system actor `kumo.topology.<name>`, which admits Code
/// Gear Managers, keeps the ``TopologyPlan``, and tells each manager what it sees whenever that
/// changes (a manager joined, or a manager's node left or died).
distributed actor TopologyService {
    typealias ActorSystem = ClusterSystem

    static func actorName(of name: String) -> String { "kumo.topology.\(name)" }

    private let name: String
    private var plan: TopologyPlan
    private var version: UInt64 = 0
    private var watching: Task<Void, Never>?
    private let logger: Logger

    init(name: String, plan: TopologyPlan, actorSystem: ClusterSystem) {
        self.name = name
        self.plan = plan
        self.actorSystem = actorSystem
        var logger = actorSystem.logger
        logger[metadataKey: "kumo.topology"] = "\(name)"
        self.logger = logger
    }

    private var topologyID: TopologyID { TopologyID(name: name, node: actorSystem.node) }

    /// Admits the manager `manager` on `node` under the lowest free name, and returns what it
    /// sees. A manager already admitted gets its name again.
    /// - Throws: ``GearError`` `topology` when the graph is full or the request is malformed.
    distributed func register(manager: String, node: NodeID) throws -> TopologyUpdate {
        guard !manager.isEmpty, manager.utf8.count <= 256 else {
            throw GearError(.topology, "a manager name is 1 to 256 bytes long")
        }
        let occupant = TopologyPlan.Occupant(manager: manager, node: node)
        let wasComplete = plan.isComplete
        let admitted: (slot: Int, changed: [Int])
        do {
            admitted = try plan.admit(occupant)
        } catch {
            throw GearError(.topology, "\(topologyID) cannot place manager \(manager) of \(node): \(error)")
        }
        if !admitted.changed.isEmpty {
            version += 1
            logger.info(
                "manager joined the topology",
                metadata: ["kumo.gears.manager": "\(manager)", "kumo.topology.name": "\(plan.name(ofSlot: admitted.slot))"])
            publish(to: plan.isComplete != wasComplete ? Array(plan.occupants.keys) : admitted.changed, except: admitted.slot)
        }
        return update(for: admitted.slot)
    }

    /// Frees the name of the manager `manager` on `node` (it closed).
    distributed func release(manager: String, node: NodeID) {
        guard let slot = plan.slots(on: node).first(where: { plan.occupants[$0]?.manager == manager }) else { return }
        remove { plan in plan.release(slot: slot) }
    }

    /// The names held now, and who holds them.
    distributed func assignments() -> [String: TopologyPlan.Occupant] {
        Dictionary(uniqueKeysWithValues: plan.occupants.map { (plan.name(ofSlot: $0.key), $0.value) })
    }

    /// Starts following the membership: the names of managers on nodes that leave or die are freed.
    func start() {
        guard watching == nil else { return }
        watching = Task { [weak self, actorSystem] in
            for await event in await actorSystem.membershipEvents() {
                guard case .statusChanged(let member, _) = event, member.status >= .leaving else { continue }
                await self?.whenLocal { $0.nodeGone(member.node) }
            }
        }
    }

    func stop() {
        watching?.cancel()
        watching = nil
    }

    private func nodeGone(_ node: NodeID) {
        guard !plan.slots(on: node).isEmpty else { return }
        logger.info("a node of the topology is gone; its names are free", metadata: ["kumo.node": "\(node)"])
        remove { plan in plan.remove(node: node) }
    }

    private func remove(_ change: (inout TopologyPlan) -> [Int]) {
        let wasComplete = plan.isComplete
        let changed = change(&plan)
        version += 1
        publish(to: plan.isComplete != wasComplete ? Array(plan.occupants.keys) : changed, except: nil)
    }

    private func update(for slot: Int) -> TopologyUpdate {
        TopologyUpdate(
            topology: topologyID, version: version, name: plan.name(ofSlot: slot), links: plan.links(ofSlot: slot),
            complete: plan.isComplete)
    }

    /// Sends each manager in `slots` (but `except`) what it sees now. Updates carry the whole
    /// state and a version, so they need not arrive in order.
    private func publish(to slots: [Int], except: Int?) {
        for slot in Set(slots) where slot != except {
            guard let occupant = plan.occupants[slot] else { continue }
            let update = update(for: slot)
            let system = actorSystem
            let logger = logger
            Task {
                do {
                    let agent = try TopologyAgent.resolve(
                        id: .named(TopologyAgent.actorName(of: occupant.manager), on: occupant.node), using: system)
                    try await agent.apply(update)
                } catch {
                    logger.debug(
                        "could not tell a manager about its links",
                        metadata: ["kumo.gears.manager": "\(occupant.manager)", "error": "\(error)"])
                }
            }
        }
    }
}
