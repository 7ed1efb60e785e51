import Distributed
import Kumo

/// The part of ``Jobs`` that other nodes call: it runs jobs sent to this node. Hosted under the
/// well-known name `kumo.jobs` on every node that installs ``Jobs``.
distributed actor JobWorker {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo.jobs"
    /// The most calls one batch may hold.
    static let maxBatch = 4096

    private let runtime: JobsRuntime

    /// Calls arrive on the node's network thread; the jobs themselves run on the shared pool
    /// (``JobsRuntime/execute(_:arguments:cost:)``), so a long job never holds up the network.
    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    init(runtime: JobsRuntime, actorSystem: ClusterSystem) {
        self.runtime = runtime
        self.actorSystem = actorSystem
    }

    /// Runs one call.
    distributed func run(_ request: JobRequest) async -> JobReply {
        let outcome = await runtime.executeOffLoop(request.job, arguments: request.arguments, cost: request.cost)
        return JobReply(outcome: outcome, load: runtime.load)
    }

    /// Runs the calls of a batch, concurrently when the job is `async`.
    distributed func runBatch(_ request: JobBatchRequest) async -> JobBatchReply {
        // A peer is not trusted to be sensible: a batch is bounded, as each call is a task here.
        guard request.items.count <= Self.maxBatch else {
            let error = runtime.carried(JobError(
                .argumentsMalformed, job: request.job, node: actorSystem.node,
                "a batch holds at most \(Self.maxBatch) calls, not \(request.items.count)"))
            return JobBatchReply(outcomes: [.failure(error)], load: runtime.load, nanoseconds: 0)
        }
        let start = ContinuousClock.now
        let outcomes = await runtime.executeBatchOffLoop(request.job, items: request.items, cost: request.cost)
        return JobBatchReply(outcomes: outcomes, load: runtime.load, nanoseconds: (ContinuousClock.now - start).nanoseconds)
    }

    /// This node's load now.
    distributed func load() -> NodeLoad {
        runtime.load
    }
}

extension Duration {
    /// The duration in whole nanoseconds (0 when negative).
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
