import DequeModule
import NIOCore
import Synchronization

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
/// Both roles share one first-in, first-out queue of jobs, drained by one loop task per batch
/// rather than one loop task per job.
///
/// - Important: code on this executor runs on the node's network thread. Adopt it for actors
///   whose methods are short and never block; leave long or blocking work on the default pool.
public final class EventLoopExecutor: TaskExecutor, Sendable {
    /// The event loop the jobs run on.
    public let eventLoop: any EventLoop
    private let serial: EventLoopSerialExecutor
    private let queue: LoopJobQueue

    /// Creates an executor for `eventLoop`.
    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        let queue = LoopJobQueue(eventLoop: eventLoop)
        self.queue = queue
        self.serial = EventLoopSerialExecutor(eventLoop: eventLoop, queue: queue)
        queue.executors = (self.asUnownedTaskExecutor(), serial.asUnownedSerialExecutor())
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        queue.push(UnownedJob(job), isolated: false)
    }

    /// The serial executor on the same loop, for actors that adopt it.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        serial.asUnownedSerialExecutor()
    }
}

/// The serial (actor) role of an ``EventLoopExecutor``.
final class EventLoopSerialExecutor: SerialExecutor, Sendable {
    let eventLoop: any EventLoop
    private let queue: LoopJobQueue

    init(eventLoop: any EventLoop, queue: LoopJobQueue) {
        self.eventLoop = eventLoop
        self.queue = queue
    }

    func enqueue(_ job: consuming ExecutorJob) {
        queue.push(UnownedJob(job), isolated: true)
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

/// The jobs waiting for an event loop, in order. A push onto an empty queue schedules one loop
/// task, which runs every job queued by the time it starts; jobs queued while it runs wait for
/// the next one, so the loop still gets to its I/O between batches.
///
/// `@unchecked Sendable`: `jobs` is guarded by its mutex; `executors` is set once, in the owning
/// executor's initializer, before any job can be pushed, and only read after.
final class LoopJobQueue: @unchecked Sendable {
    private struct State {
        var jobs: Deque<(job: UnownedJob, isolated: Bool)> = []
        /// An emptied batch kept for its capacity.
        var spare: Deque<(job: UnownedJob, isolated: Bool)> = []
        var scheduled = false
    }

    private let eventLoop: any EventLoop
    private let state = Mutex(State())
    var executors: (task: UnownedTaskExecutor, serial: UnownedSerialExecutor)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func push(_ job: UnownedJob, isolated: Bool) {
        let schedule = state.withLock { state -> Bool in
            state.jobs.append((job, isolated))
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.drain() } }
    }

    private func drain() {
        guard let (task, serial) = executors else { return }
        var batch = state.withLock { state in
            var batch: Deque<(job: UnownedJob, isolated: Bool)> = []
            swap(&batch, &state.spare)
            swap(&batch, &state.jobs)
            state.scheduled = false
            return batch
        }
        while let (job, isolated) = batch.popFirst() {
            if isolated {
                job.runSynchronously(on: serial)
            } else {
                job.runSynchronously(on: task)
            }
        }
        state.withLock { state in
            if state.spare.isEmpty { swap(&batch, &state.spare) }
        }
    }
}
