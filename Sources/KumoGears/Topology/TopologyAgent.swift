import Kumo

/// A Code Gear Manager as Topology Managers reach it: the system actor
/// `kumo.topology-agent.<manager>` on the manager's node, which applies what a Topology Manager
/// says the manager sees.
distributed actor TopologyAgent {
    typealias ActorSystem = ClusterSystem

    static func actorName(of manager: String) -> String { "kumo.topology-agent.\(manager)" }

    /// Weak: the node keeps its system actors for its life, the manager may close before.
    private weak var cgm: CodeGearManager?

    init(cgm: CodeGearManager, actorSystem: ClusterSystem) {
        self.cgm = cgm
        self.actorSystem = actorSystem
    }

    distributed func apply(_ update: TopologyUpdate) {
        cgm?.apply(update)
    }
}
