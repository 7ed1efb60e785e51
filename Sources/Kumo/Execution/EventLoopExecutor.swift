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
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        queue.push(UnownedJob(job), on: .task(self))
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
        queue.push(UnownedJob(job), on: .serial(self))
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
/// the next one, so the loop still gets to its I/O between batches. Each queued job holds its
/// executor, so an executor outlives every job it has accepted.
final class LoopJobQueue: Sendable {
    /// The executor a job was enqueued on, and so how it runs.
    enum Role: Sendable {
        case task(EventLoopExecutor)
        case serial(EventLoopSerialExecutor)
    }

    private struct State {
        var jobs: Deque<(job: UnownedJob, role: Role)> = []
        /// An emptied batch kept for its capacity.
        var spare: Deque<(job: UnownedJob, role: Role)> = []
        var scheduled = false
    }

    private let eventLoop: any EventLoop
    private let state = Mutex(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func push(_ job: UnownedJob, on role: Role) {
        let schedule = state.withLock { state -> Bool in
            state.jobs.append((job, role))
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.drain() } }
    }

    private func drain() {
        var batch = state.withLock { state in
            var batch: Deque<(job: UnownedJob, role: Role)> = []
            swap(&batch, &state.spare)
            swap(&batch, &state.jobs)
            state.scheduled = false
            return batch
        }
        while let (job, role) = batch.popFirst() {
            switch role {
            case .task(let executor): job.runSynchronously(on: executor.asUnownedTaskExecutor())
            case .serial(let executor): job.runSynchronously(on: executor.asUnownedSerialExecutor())
            }
        }
        state.withLock { state in
            if state.spare.isEmpty { swap(&batch, &state.spare) }
        }
    }
}
