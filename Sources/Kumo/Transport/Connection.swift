import KumoCore
import NIOCore
import Synchronization

/// An established, authenticated connection to one peer node.
///
/// Holds the write side (``outbox``) and the calls awaiting replies. Replies are matched by call
/// id on the event loop; deadlines are checked by one timer per connection, armed only while
/// calls are pending.
final class Connection: Sendable, CustomStringConvertible {
    let channel: any Channel
    let peer: PeerIdentity
    let outbox: Outbox
    private let calls = Mutex(PendingCalls())
    private let inbound = Mutex(InboundCalls())

    /// Inbound calls running now, by call id; reading pauses while there are too many.
    private struct InboundCalls {
        /// A call between its arrival and its reply: its task once it has one, and whether the
        /// caller cancelled it before the task was made.
        enum Entry {
            case starting(cancelled: Bool)
            case running(Task<Void, Never>)
        }
        var entries: [UInt64: Entry] = [:]
        var limit = Int.max
        var paused = false
    }

    private struct Pending {
        var continuation: UnsafeContinuation<ReplyMessage, any Error>
        var deadline: NIODeadline
    }

    private struct PendingCalls {
        var nextID: UInt64 = 1
        var entries: [UInt64: Pending] = [:]
        var sweepAt: NIODeadline?
        var sweepTimer: Scheduled<Void>?
        var failure: ClusterError?
    }

    /// What is counted for this connection's peer.
    let metrics: PeerMetrics

    init(channel: any Channel, peer: PeerIdentity, settings: ClusterSettings, metrics: ClusterMetrics, poller: BusyPoller) {
        self.channel = channel
        self.peer = peer
        let peerMetrics = metrics.peer(named: peer.name)
        self.metrics = peerMetrics
        self.outbox = Outbox(
            channel: channel, chunkSize: settings.chunkSize, highWater: settings.outboxHighWater,
            batchingDelay: settings.messageBatchingDelay, flushThreshold: settings.callFlushThreshold,
            peerMetrics: peerMetrics, metrics: metrics, poller: poller)
    }

    var description: String { "connection to \(peer.name) \(peer.node)" }

    var isActive: Bool { calls.withLock { $0.failure == nil } && channel.isActive }

    /// A fresh call id for this connection.
    func makeCallID() -> UInt64 {
        calls.withLock { calls in
            let id = calls.nextID
            calls.nextID &+= 1
            return id
        }
    }

    /// Sends a call frame and waits for its reply, its deadline, cancellation or the connection's end.
    func call(_ frame: OutboundFrame, id: UInt64, deadline: NIODeadline, orderingKey: Int) async throws -> ReplyMessage {
        try await outbox.waitForCapacity(for: frame.size, deadline: deadline)
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<ReplyMessage, any Error>) in
                let (failure, armAt): (ClusterError?, NIODeadline?) = calls.withLock { calls in
                    if let failure = calls.failure { return (failure, nil) }
                    // A cancellation that came before this point found no entry to remove.
                    if Task.isCancelled {
                        return (ClusterError(.cancelled, "the calling task was cancelled", node: peer.node), nil)
                    }
                    calls.entries[id] = Pending(continuation: continuation, deadline: deadline)
                    if calls.sweepAt.map({ deadline < $0 }) ?? true {
                        calls.sweepAt = deadline
                        return (nil, deadline)
                    }
                    return (nil, nil)
                }
                if let failure {
                    continuation.resume(throwing: failure)
                    return
                }
                if let armAt { armSweep(at: armAt) }
                do {
                    try outbox.enqueue(frame, key: orderingKey, callOrReply: true)
                    // A cancellation between the entry above and this enqueue sent its cancel
                    // ahead of the call, where the callee ignores it: send one after it too.
                    if Task.isCancelled, calls.withLock({ $0.entries[id] == nil }) { sendCancel(id) }
                } catch {
                    if let pending = calls.withLock({ $0.entries.removeValue(forKey: id) }) {
                        pending.continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            if let pending = calls.withLock({ $0.entries.removeValue(forKey: id) }) {
                pending.continuation.resume(throwing: ClusterError(.cancelled, "the calling task was cancelled", node: peer.node))
                // Tell the callee, whose task is then cancelled too.
                sendCancel(id)
            }
        }
    }

    /// Tells the peer that the caller of call `id` gave up on it (a `cancel` frame).
    private func sendCancel(_ id: UInt64) {
        var cancel = ByteBuffer()
        CancelMessage(callID: id).write(to: &cancel)
        try? outbox.enqueue(cancel)
    }

    /// Completes the call that `reply` answers. Runs on the event loop.
    func complete(_ reply: ReplyMessage) {
        if let pending = calls.withLock({ $0.entries.removeValue(forKey: reply.callID) }) {
            pending.continuation.resume(returning: reply)
        }
        // A reply to an unknown id is a call that already timed out or was cancelled.
    }

    /// Arms the one deadline timer of this connection for `deadline`, replacing the one armed before.
    private func armSweep(at deadline: NIODeadline) {
        let timer = channel.eventLoop.scheduleTask(deadline: deadline + .milliseconds(1)) { self.sweep() }
        let obsolete: Scheduled<Void>? = calls.withLock { calls in
            // Two callers may arm at once; keep the timer for the deadline now recorded.
            guard calls.sweepAt == deadline else { return timer }
            defer { calls.sweepTimer = timer }
            return calls.sweepTimer
        }
        obsolete?.cancel()
    }

    /// Fails every call whose deadline passed, then re-arms the timer for the earliest left.
    private func sweep() {
        let now = NIODeadline.now()
        let (expired, next): ([(UInt64, Pending)], NIODeadline?) = calls.withLock { calls in
            var expired: [(UInt64, Pending)] = []
            var earliest: NIODeadline?
            for (id, pending) in calls.entries {
                if pending.deadline <= now {
                    expired.append((id, pending))
                    calls.entries.removeValue(forKey: id)
                } else if earliest.map({ pending.deadline < $0 }) ?? true {
                    earliest = pending.deadline
                }
            }
            calls.sweepAt = earliest
            return (expired, earliest)
        }
        for (id, pending) in expired {
            pending.continuation.resume(throwing: ClusterError(
                .timeout, "no reply from \(peer.name) before the call's deadline", node: peer.node))
            // Nobody awaits the reply any more: the callee stops working on it.
            sendCancel(id)
        }
        if let next { armSweep(at: next) }
    }

    /// Why reading from the peer is paused. Reading resumes only when no reason is left.
    enum PauseReason: Hashable, Sendable {
        /// Too many inbound calls are running.
        case calls
        /// A port the peer sends to is full.
        case port(UInt64)
    }

    private let pauses = Mutex(Set<PauseReason>())

    /// Stops reading from the peer for `reason` (TCP then pushes back on the sender).
    func pauseReading(_ reason: PauseReason) {
        let first = pauses.withLock { pauses -> Bool in
            let wasEmpty = pauses.isEmpty
            return pauses.insert(reason).inserted && wasEmpty
        }
        if first { channel.setOption(.autoRead, value: false).whenFailure { _ in } }
    }

    /// Withdraws `reason`; reading resumes when no other reason holds it paused.
    func resumeReading(_ reason: PauseReason) {
        let last = pauses.withLock { pauses -> Bool in
            pauses.remove(reason) != nil && pauses.isEmpty
        }
        if last {
            let channel = self.channel
            channel.setOption(.autoRead, value: true).whenSuccess { channel.read() }
        }
    }

    /// Counts inbound call `id` in; at `limit` running calls, reading from the peer pauses.
    func callStarted(_ id: UInt64, limit: Int) {
        let pause = inbound.withLock { state -> Bool in
            state.entries[id] = .starting(cancelled: false)
            state.limit = limit
            guard state.entries.count >= limit, !state.paused else { return false }
            state.paused = true
            return true
        }
        if pause { pauseReading(.calls) }
    }

    /// Inbound call `id` runs in `task`, which a `cancel` frame from the caller cancels.
    func callRunning(_ id: UInt64, _ task: Task<Void, Never>) {
        let cancel = inbound.withLock { state -> Bool in
            switch state.entries[id] {
            case .starting(let cancelled):
                state.entries[id] = .running(task)
                return cancelled
            case .running, nil:
                return false  // it has already replied
            }
        }
        if cancel { task.cancel() }
    }

    /// The caller cancelled inbound call `id`: its task is cancelled. Returns false when no such
    /// call is running (it already replied, or never existed).
    func cancelInbound(_ id: UInt64) -> Bool {
        let found: (Bool, Task<Void, Never>?) = inbound.withLock { state in
            switch state.entries[id] {
            case .starting:
                state.entries[id] = .starting(cancelled: true)
                return (true, nil)
            case .running(let task):
                return (true, task)
            case nil:
                return (false, nil)
            }
        }
        found.1?.cancel()
        return found.0
    }

    /// Counts inbound call `id` out (its reply was queued); reading resumes at half the limit.
    func callFinished(_ id: UInt64) {
        let resume = inbound.withLock { state -> Bool in
            state.entries.removeValue(forKey: id)
            guard state.paused, state.entries.count <= state.limit / 2 else { return false }
            state.paused = false
            return true
        }
        if resume { resumeReading(.calls) }
    }

    /// Fails the connection: pending calls and waiting senders get `error`; the channel closes.
    func fail(_ error: ClusterError) {
        let pending: [Pending] = calls.withLock { calls in
            if calls.failure == nil { calls.failure = error }
            let pending = Array(calls.entries.values)
            calls.entries = [:]
            return pending
        }
        outbox.fail(error)
        for entry in pending { entry.continuation.resume(throwing: error) }
    }
}
