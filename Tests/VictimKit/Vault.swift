import Kumo

/// The victim of the confused-target test: an actor in a module of its own, whose type name is
/// contained in the thunk names of other modules' functions that take it as a parameter.
public distributed actor Vault {
    public typealias ActorSystem = ClusterSystem

    private var balance = 42

    public init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
    }

    /// The vault's balance.
    public distributed func open() -> Int {
        balance
    }
}
