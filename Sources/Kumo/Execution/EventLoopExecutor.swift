import NIOCore

/// Runs Swift concurrency jobs on one SwiftNIO event loop: both a `SerialExecutor` (for actors)
/// and a `TaskExecutor` (for tasks that prefer it).
///
/// Every `ClusterSystem` owns one. Inbound calls run as tasks that prefer it, and replies arrive
/// on its loop, so an actor that adopts it handles remote calls with no thread hop at all:
///
/// ```swift
/// distributed actor Counter {
///     typealias ActorSystem = ClusterSystem
///     nonisolated var unownedExecutor: UnownedSerialExecutor {
///         actorSystem.executor.asUnownedSerialExecutor()
///     }
/// }
/// ```
///
/// - Important: code on this executor runs on the node's network thread. Adopt it for actors
///   whose methods are short and never block; leave long or blocking work on the default pool.
public final class EventLoopExecutor: SerialExecutor, TaskExecutor, Sendable {
    /// The event loop the jobs run on.
    public let eventLoop: any EventLoop

    /// Creates an executor for `eventLoop`.
    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(
                isolatedTo: self.asUnownedSerialExecutor(), taskExecutor: self.asUnownedTaskExecutor())
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(complexEquality: self)
    }

    public func isSameExclusiveExecutionContext(other: EventLoopExecutor) -> Bool {
        other.eventLoop === eventLoop
    }

    public func checkIsolated() {
        eventLoop.preconditionInEventLoop()
    }
}
