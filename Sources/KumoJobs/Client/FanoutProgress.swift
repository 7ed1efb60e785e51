import Synchronization

/// The progress of a fan-out, as it goes: pass one in ``FanoutOptions/progress`` and read
/// ``updates`` (or ``current``) while it runs.
public final class FanoutProgress: Sendable {
    /// Counts at one moment; `completed + failed == total` once the fan-out has ended.
    public struct Snapshot: Sendable, Hashable, CustomStringConvertible {
        /// Calls that returned a result.
        public var completed: Int
        /// Calls that failed for good (after retries).
        public var failed: Int
        /// All calls of the fan-out.
        public var total: Int
        /// Whether every call has ended.
        public var isFinished: Bool { completed + failed >= total }
        /// The share of calls that ended, from 0 to 1.
        public var fraction: Double { total == 0 ? 1 : Double(completed + failed) / Double(total) }
        public var description: String { "\(completed) done, \(failed) failed, of \(total)" }
        /// Counts.
        public init(completed: Int, failed: Int, total: Int) {
            self.completed = completed
            self.failed = failed
            self.total = total
        }
    }

    private let state = Mutex(Snapshot(completed: 0, failed: 0, total: 0))
    private let stream: AsyncStream<Snapshot>
    private let continuation: AsyncStream<Snapshot>.Continuation

    /// A progress with no fan-out yet.
    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Snapshot.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The counts now.
    public var current: Snapshot { state.withLock { $0 } }

    /// The counts each time they change (the newest only, for a slow reader); finishes when the
    /// fan-out ends. One reader.
    public var updates: AsyncStream<Snapshot> { stream }

    func begin(total: Int) {
        let snapshot = state.withLock { state in
            state = Snapshot(completed: 0, failed: 0, total: total)
            return state
        }
        continuation.yield(snapshot)
        if total == 0 { continuation.finish() }
    }

    func add(completed: Int, failed: Int) {
        guard completed + failed > 0 else { return }
        let snapshot = state.withLock { state in
            state.completed += completed
            state.failed += failed
            return state
        }
        continuation.yield(snapshot)
        if snapshot.isFinished { continuation.finish() }
    }

    func end() {
        continuation.finish()
    }
}
