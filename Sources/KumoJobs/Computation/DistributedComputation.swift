/// A computation that can run on any node, and says how heavy it is (Cusinart's
/// `DistributedComputation`): the value is its own input.
///
/// ```swift
/// struct Primes: DistributedComputation {
///     var below: Int
///     func execute() async throws -> Int { … }
///     func estimateCost() -> ComputationCost { ComputationCost(units: Double(below) / 1e7) }
/// }
/// settings.plugins.install(Jobs(Primes.job))          // on the nodes that run it
/// let count = try await ExecutionEngine().execute(Primes(below: 10_000_000))
/// ```
public protocol DistributedComputation: Codable, Sendable {
    /// What the computation returns.
    associatedtype Output: Codable & Sendable

    /// The stable name the computation is known by on the wire; by default the type's name.
    static var computationName: String { get }

    /// Runs the computation (on the node the engine chose).
    func execute() async throws -> Output

    /// How much of a node the computation takes while it runs.
    func estimateCost() -> ComputationCost
}

extension DistributedComputation {
    public static var computationName: String { String(reflecting: Self.self) }

    public func estimateCost() -> ComputationCost { .light }

    /// The job that runs computations of this type; list it in ``Jobs`` on the nodes that run
    /// them.
    public static var job: JobDefinition<Output> {
        JobDefinition<Output>(
            name: "computation:" + computationName, function: computationName, fileID: "", isAsync: true
        ) { arguments in
            let computation = try arguments.next(Self.self)
            try arguments.finish()
            return try await computation.execute()
        }
    }
}
