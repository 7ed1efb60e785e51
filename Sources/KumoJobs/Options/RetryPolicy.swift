/// How often, and after what pause, an idempotent job is tried again after a failure that may
/// have been the node's rather than the job's: its node died or became unreachable, or it timed
/// out. A job that is not idempotent is never run twice.
public struct RetryPolicy: Sendable, Hashable {
    /// Further attempts after the first; 0 tries once.
    public var retries: Int
    /// The pause before the first retry.
    public var initialBackoff: Duration
    /// The longest pause; each retry waits twice as long as the one before, up to this.
    public var maxBackoff: Duration
    /// Whether an error the job itself threw is retried too (by default only the node's
    /// failures are).
    public var retriesThrownErrors: Bool

    /// A policy of `retries` further attempts with exponential backoff.
    public init(
        retries: Int, initialBackoff: Duration = .milliseconds(50), maxBackoff: Duration = .seconds(2),
        retriesThrownErrors: Bool = false
    ) {
        self.retries = max(0, retries)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.retriesThrownErrors = retriesThrownErrors
    }

    /// No retries.
    public static let never = RetryPolicy(retries: 0)

    /// The pause before retry number `retry` (1 for the first).
    public func backoff(before retry: Int) -> Duration {
        var pause = initialBackoff
        var step = 1
        while step < retry && pause < maxBackoff {
            pause = pause * 2
            step += 1
        }
        return min(pause, maxBackoff)
    }
}
