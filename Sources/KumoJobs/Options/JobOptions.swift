import Kumo

/// How a job runs: set on the attribute (`@Job(options: JobOptions(timeout: .seconds(2)))`),
/// overridden per call with ``JobCallOptions``.
public struct JobOptions: Sendable {
    /// How long a call waits for the job's result; the job is cancelled where it runs when this
    /// passes. `nil` waits for as long as the job takes.
    public var timeout: Duration?
    /// Whether running the job twice does no harm. Only idempotent jobs are retried: on
    /// another node when theirs dies mid-run, and after a timeout.
    public var idempotent: Bool
    /// Retries of an idempotent job; ignored for a job that is not idempotent. Idempotent jobs
    /// retry twice by default.
    public var retry: RetryPolicy
    /// The most executions of the job that run at once on one node; `nil` for no cap.
    public var maxConcurrentPerNode: Int?
    /// What a node does with a call beyond the cap.
    public var overflow: Overflow
    /// Where calls go, unless the call says otherwise; `nil` uses the node's default
    /// (``Jobs/init(_:capacity:runsJobs:placement:loadReportInterval:)``).
    public var placement: PlacementStrategy?
    /// The job's cost while it runs, for cost-aware placement.
    public var cost: ComputationCost

    /// What a node does with calls beyond ``maxConcurrentPerNode``.
    public enum Overflow: Sendable, Hashable {
        /// They wait on that node, first come first served; beyond `limit` waiting, calls go to
        /// another node.
        case queue(limit: Int)
        /// They go to another node at once (or wait and try again when every node is full).
        case elsewhere
    }

    /// Options for a job; every argument has a default.
    public init(
        timeout: Duration? = nil, idempotent: Bool = false, retry: RetryPolicy? = nil,
        maxConcurrentPerNode: Int? = nil, overflow: Overflow = .queue(limit: 100_000),
        placement: PlacementStrategy? = nil, cost: ComputationCost = .light
    ) {
        self.timeout = timeout
        self.idempotent = idempotent
        self.retry = retry ?? (idempotent ? RetryPolicy(retries: 2) : .never)
        self.maxConcurrentPerNode = maxConcurrentPerNode.map { max(1, $0) }
        self.overflow = overflow
        self.placement = placement
        self.cost = cost
    }

    /// These options with `call`'s on top.
    func merged(with call: JobCallOptions) -> JobOptions {
        var options = self
        if let timeout = call.timeout { options.timeout = timeout }
        if let retry = call.retry { options.retry = retry }
        if let placement = call.placement { options.placement = placement }
        if let cost = call.cost { options.cost = cost }
        return options
    }

    /// The retries this job may make: none unless it is idempotent.
    var effectiveRetries: Int { idempotent ? retry.retries : 0 }
}

/// Per-call overrides of a job's ``JobOptions``; what is `nil` keeps the job's own setting.
public struct JobCallOptions: Sendable {
    /// How long this call waits (see ``JobOptions/timeout``).
    public var timeout: Duration?
    /// Retries for this call (idempotent jobs only).
    public var retry: RetryPolicy?
    /// Where this call goes.
    public var placement: PlacementStrategy?
    /// This call's cost, for cost-aware placement.
    public var cost: ComputationCost?

    /// Overrides; by default none.
    public init(
        timeout: Duration? = nil, retry: RetryPolicy? = nil, placement: PlacementStrategy? = nil,
        cost: ComputationCost? = nil
    ) {
        self.timeout = timeout
        self.retry = retry
        self.placement = placement
        self.cost = cost
    }

    /// Runs the call on `node`.
    public static func pinned(to node: NodeID) -> JobCallOptions { JobCallOptions(placement: .pinned(node)) }
}
