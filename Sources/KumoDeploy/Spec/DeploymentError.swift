/// A deployment description that cannot be deployed: the field, and what is wrong with it.
public struct DeploymentError: Error, Equatable, CustomStringConvertible {
    /// The field, as the description spells it (`replicas`, `ports[1].port`, `shards.pattern`).
    public var field: String
    /// What is wrong, in a sentence that follows the field's name.
    public var problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}
