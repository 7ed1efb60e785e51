import KumoCore
import Synchronization

/// Why a watched actor or node is gone.
public enum TerminationReason: Sendable, Hashable, CustomStringConvertible {
    /// The actor was deinitialized (or was never there: `found` is false).
    case actorStopped(ActorID, found: Bool)
    /// The node was declared down (crashed, or unreachable past the downing timeout).
    case nodeDown(NodeID)
    /// The node left the cluster gracefully.
    case nodeLeft(NodeID)

    public var description: String {
        switch self {
        case .actorStopped(let id, let found): found ? "actor \(id) stopped" : "actor \(id) not found"
        case .nodeDown(let node): "node \(node) is down"
        case .nodeLeft(let node): "node \(node) left"
        }
    }
}

/// A watch on an actor or a node: its ``reason`` arrives exactly once, when the watched thing is
/// gone. Cancelling it stops the watch; a cancelled watch never reports.
public final class WatchHandle: Sendable {
    private enum State {
        case waiting([UnsafeContinuation<TerminationReason?, Never>])
        case fired(TerminationReason)
        case cancelled
    }

    private let state = Mutex(State.waiting([]))
    private let onCancel: @Sendable (WatchHandle) -> Void

    init(onCancel: @escaping @Sendable (WatchHandle) -> Void) {
        self.onCancel = onCancel
    }

    /// Waits for the watched actor or node to be gone; `nil` if the watch was cancelled.
    public var reason: TerminationReason? {
        get async {
            await withUnsafeContinuation { continuation in
                let now: TerminationReason?? = state.withLock { state in
                    switch state {
                    case .waiting(var waiters):
                        waiters.append(continuation)
                        state = .waiting(waiters)
                        return .none
                    case .fired(let reason): return .some(reason)
                    case .cancelled: return .some(nil)
                    }
                }
                if case .some(let value) = now { continuation.resume(returning: value) }
            }
        }
    }

    /// The reason, if the watch has fired already.
    public var firedReason: TerminationReason? {
        state.withLock { state in
            if case .fired(let reason) = state { return reason }
            return nil
        }
    }

    /// Stops watching.
    public func cancel() {
        let waiters: [UnsafeContinuation<TerminationReason?, Never>] = state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = .cancelled
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        onCancel(self)
    }

    /// Fires the watch; returns false if it had fired or was cancelled already.
    @discardableResult
    func fire(_ reason: TerminationReason) -> Bool {
        let waiters: [UnsafeContinuation<TerminationReason?, Never>]? = state.withLock { state in
            guard case .waiting(let waiters) = state else { return nil }
            state = .fired(reason)
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: reason) }
        return true
    }
}
