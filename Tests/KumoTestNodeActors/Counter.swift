import Kumo

/// The actor `KumoTestNode` hosts as `counter`: a program's own actor, defined outside
/// `KumoExamples`, in a module the tests share with that program.
public distributed actor Counter {
    public typealias ActorSystem = ClusterSystem

    private var value = 0

    public init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
    }

    /// Adds `amount` and returns the new value.
    public distributed func add(_ amount: Int) -> Int {
        value += amount
        return value
    }

    /// The name of the node that hosts this counter.
    public distributed func nodeName() -> String {
        actorSystem.settings.name
    }
}
