import DequeModule
import Synchronization

/// The slots of a concurrency cap as a value: how many run, who waits, in what order. The
/// limiter around it only suspends and resumes tasks.
struct LimiterState<Waiter> {
    let limit: Int
    let queueLimit: Int
    private(set) var running = 0
    private(set) var waiters: Deque<(id: UInt64, waiter: Waiter)> = []
    private var nextID: UInt64 = 0
    /// Ids cancelled before they were queued.
    private var cancelledEarly: Set<UInt64> = []

    init(limit: Int, queueLimit: Int) {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
    }

    enum Admission: Equatable { case run, wait, refuse, cancelled }

    /// A fresh id for one acquisition.
    mutating func makeID() -> UInt64 {
        nextID &+= 1
        return nextID
    }

    /// Takes a slot when one is free; otherwise queues `waiter` when the queue has room.
    mutating func admit(_ id: UInt64, _ waiter: Waiter) -> Admission {
        if cancelledEarly.remove(id) != nil { return .cancelled }
        if running < limit {
            running += 1
            return .run
        }
        guard waiters.count < queueLimit else { return .refuse }
        waiters.append((id, waiter))
        return .wait
    }

    /// Gives a slot back: the first waiter, if any, takes it over.
    mutating func release() -> Waiter? {
        if let next = waiters.popFirst() { return next.waiter }
        running = max(0, running - 1)
        return nil
    }

    /// Removes the waiter `id` (its task was cancelled); `nil` when it is not waiting, in which
    /// case a later ``admit(_:_:)`` of that id answers `cancelled`, unless it ran already.
    mutating func cancel(_ id: UInt64, admitted: Bool) -> Waiter? {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            return waiters.remove(at: index).waiter
        }
        if !admitted { cancelledEarly.insert(id) }
        return nil
    }
}

/// A cap on concurrent executions of one job on this node, with a bounded first-in, first-out
/// queue behind it.
final class ConcurrencyLimiter: Sendable {
    private let state: Mutex<LimiterState<CheckedContinuation<Bool, any Error>>>

    init(limit: Int, queueLimit: Int) {
        state = Mutex(LimiterState(limit: limit, queueLimit: queueLimit))
    }

    /// Jobs running under the cap, and waiting.
    var counts: (running: Int, queued: Int) {
        state.withLock { ($0.running, $0.waiters.count) }
    }

    /// Waits for a slot.
    /// - Returns: `false` when the queue is full (the call should go elsewhere).
    /// - Throws: `CancellationError` when the task is cancelled while it waits.
    func acquire() async throws -> Bool {
        let id = state.withLock { $0.makeID() }
        let decided = Atomic<Bool>(false)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                // `decided` is written and read under the lock, so a cancellation either finds
                // the waiter, or knows it ran or was refused, or leaves word for `admit`.
                let admission = state.withLock { state in
                    let admission = state.admit(id, continuation)
                    if admission == .run || admission == .refuse { decided.store(true, ordering: .relaxed) }
                    return admission
                }
                switch admission {
                case .run:
                    continuation.resume(returning: true)
                case .refuse:
                    continuation.resume(returning: false)
                case .cancelled:
                    continuation.resume(throwing: CancellationError())
                case .wait:
                    break
                }
            }
        } onCancel: {
            let waiter = state.withLock { $0.cancel(id, admitted: decided.load(ordering: .relaxed)) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives back a slot taken by ``acquire()`` (one that returned `true`).
    func release() {
        state.withLock { $0.release() }?.resume(returning: true)
    }
}
