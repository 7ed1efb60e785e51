import Kumo

/// Runs any ``DistributedComputation`` on a node whose room fits its estimated cost
/// (Cusinart's `ExecutionEngine`): cost-aware placement unless told otherwise.
public struct ExecutionEngine: Sendable {
    /// How the engine places computations.
    public var placement: PlacementStrategy
    /// Timeout and retries for every computation.
    public var options: JobCallOptions

    /// An engine on the current cluster (``Jobs/current``).
    public init(placement: PlacementStrategy = .costAware, options: JobCallOptions = JobCallOptions()) {
        self.placement = placement
        self.options = options
    }

    /// Runs `computation` where its cost fits and returns its output.
    /// - Throws: what the computation threw (as itself when it is `Codable`), or ``JobError``.
    public func execute<Computation: DistributedComputation>(_ computation: Computation) async throws -> Computation.Output {
        var options = options
        options.placement = options.placement ?? placement
        options.cost = options.cost ?? computation.estimateCost()
        return try await Computation.job.remote(options: options) { try $0.append(computation) }
    }

    /// Runs every computation, each where its cost fits, and returns their outputs in order.
    public func execute<Computation: DistributedComputation>(
        all computations: [Computation], maxInFlight: Int = 4096
    ) async throws -> [Computation.Output] {
        // Each computation has its own cost, so each is placed on its own.
        try await withThrowingTaskGroup(of: (Int, Computation.Output).self) { group in
            var outputs = [Computation.Output?](repeating: nil, count: computations.count)
            var next = 0
            func add() {
                guard next < computations.count else { return }
                let index = next
                let computation = computations[index]
                next += 1
                group.addTask { (index, try await self.execute(computation)) }
            }
            for _ in 0..<min(maxInFlight, computations.count) { add() }
            while let (index, output) = try await group.next() {
                outputs[index] = output
                add()
            }
            return outputs.compactMap { $0 }
        }
    }
}
