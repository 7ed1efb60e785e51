/// How a fan-out spreads its calls.
public struct FanoutOptions: Sendable {
    /// The most calls in flight at once, over all nodes (backpressure): the next call starts
    /// when one returns.
    public var maxInFlight: Int
    /// The most calls sent to a node in one message (at most 4096); `nil` picks from the
    /// fan-out's size and the nodes' answers. Calls in one message still run, fail and retry
    /// one by one.
    public var batchSize: Int?
    /// Options for every call of the fan-out.
    public var call: JobCallOptions
    /// Receives (completed, failed, total) as the fan-out goes.
    public var progress: FanoutProgress?
    /// What the first failure does.
    public var failure: FailureMode

    /// What the first failed call of a fan-out does.
    public enum FailureMode: Sendable, Hashable {
        /// Cancels the calls still running and ends the fan-out with that failure.
        case failFast
        /// Lets every call run; each item's `Result` says how it ended.
        case collectAll
    }

    /// Options for a fan-out; every argument has a default.
    public init(
        maxInFlight: Int = 4096, batchSize: Int? = nil, call: JobCallOptions = JobCallOptions(),
        progress: FanoutProgress? = nil, failure: FailureMode = .failFast
    ) {
        self.maxInFlight = max(1, maxInFlight)
        self.batchSize = batchSize.map { min(4096, max(1, $0)) }
        self.call = call
        self.progress = progress
        self.failure = failure
    }
}
