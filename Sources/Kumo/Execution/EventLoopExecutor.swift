import NIOCore

/// Runs Swift concurrency jobs on one SwiftNIO event loop: a `TaskExecutor` for tasks that
/// prefer the loop, and (through ``asUnownedSerialExecutor()``) a serial executor for actors.
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
/// The two roles are two executor objects on purpose. A job of a task that only prefers the loop
/// runs with no actor isolation, so the nonisolated code it calls (a distributed thunk, the
/// system's `remoteCall`) continues in place; were it run isolated to the loop's serial executor,
/// every step into nonisolated code would be a fresh enqueue on the loop (six per remote call,
/// measured).
///
/// - Important: code on this executor runs on the node's network thread. Adopt it for actors
///   whose methods are short and never block; leave long or blocking work on the default pool.
public final class EventLoopExecutor: TaskExecutor, Sendable {
    /// The event loop the jobs run on.
    public let eventLoop: any EventLoop
    private let serial: EventLoopSerialExecutor

    /// Creates an executor for `eventLoop`.
    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.serial = EventLoopSerialExecutor(eventLoop: eventLoop)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// The serial executor on the same loop, for actors that adopt it.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        serial.asUnownedSerialExecutor()
    }
}

/// The serial (actor) role of an ``EventLoopExecutor``.
final class EventLoopSerialExecutor: SerialExecutor, Sendable {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedSerialExecutor())
        }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(complexEquality: self)
    }

    func isSameExclusiveExecutionContext(other: EventLoopSerialExecutor) -> Bool {
        other.eventLoop === eventLoop
    }

    func checkIsolated() {
        eventLoop.preconditionInEventLoop()
    }
}
