import Kumo

/// A Topology Manager: Code Gear Managers join it (``CodeGearManager/join(topology:named:prefix:timeout:)``),
/// get names in join order, and see their neighbours' DGMs under the labels of a DOT graph's
/// edges, or, without a graph, as `"parent"` and `"child0"`, `"child1"`, … of a tree.
///
/// It runs on a node of the cluster its managers are in, as the system actor
/// `kumo.topology.<name>`; `kumo topology --graph ring.dot` runs one as a process. A manager
/// whose node leaves or dies frees its name, and the next manager to join takes it. Once every
/// manager has its links, gears pass data peer to peer: the Topology Manager is on no data path.
public final class TopologyManager: Sendable {
    /// The manager's name on its node.
    public let name: String
    /// The node it runs on.
    public let system: ClusterSystem
    private let service: TopologyService

    /// A Topology Manager named `name` on `system`, linking managers as `shape` says.
    /// - Throws: ``DOTGraph/SyntaxError`` when a graph node has two edges of one label or uses
    ///   the label `local`; `ClusterError` `nameTaken` when `system` runs a Topology Manager of
    ///   that name already.
    public init(_ shape: TopologyPlan.Shape, name: String = "main", system: ClusterSystem) async throws {
        self.name = name
        self.system = system
        let plan = try TopologyPlan(shape)
        let service = try system.hostSystemActor(named: TopologyService.actorName(of: name)) {
            TopologyService(name: name, plan: plan, actorSystem: system)
        }
        self.service = service
        await service.whenLocal { $0.start() }
    }

    /// How managers reach it.
    public var id: TopologyID { TopologyID(name: name, node: system.node) }

    /// The names held now, and the manager and node that holds each.
    public func assignments() async -> [String: TopologyPlan.Occupant] {
        (try? await service.assignments()) ?? [:]
    }

    /// Stops following the membership; managers keep the links they have.
    public func close() async {
        await service.whenLocal { $0.stop() }
    }
}
