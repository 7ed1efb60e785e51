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

    /// Inbound calls running now; reading pauses while there are too many.
    private struct InboundCalls {
        var running = 0
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
        var failure: ClusterError?
    }

    init(channel: any Channel, peer: PeerIdentity, settings: ClusterSettings) {
        self.channel = channel
        self.peer = peer
        self.outbox = Outbox(channel: channel, chunkSize: settings.chunkSize, highWater: settings.outboxHighWater)
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
    func call(_ frame: ByteBuffer, id: UInt64, deadline: NIODeadline, orderingKey: Int) async throws -> ReplyMessage {
        try await outbox.waitForCapacity(for: frame.readableBytes)
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<ReplyMessage, any Error>) in
                let (failure, armAt): (ClusterError?, NIODeadline?) = calls.withLock { calls in
                    if let failure = calls.failure { return (failure, nil) }
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
                    try outbox.enqueue(frame, key: orderingKey)
                } catch {
                    if let pending = calls.withLock({ $0.entries.removeValue(forKey: id) }) {
                        pending.continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            if let pending = calls.withLock({ $0.entries.removeValue(forKey: id) }) {
                pending.continuation.resume(throwing: ClusterError(.cancelled, "the calling task was cancelled", node: peer.node))
            }
        }
    }

    /// Completes the call that `reply` answers. Runs on the event loop.
    func complete(_ reply: ReplyMessage) {
        if let pending = calls.withLock({ $0.entries.removeValue(forKey: reply.callID) }) {
            pending.continuation.resume(returning: reply)
        }
        // A reply to an unknown id is a call that already timed out or was cancelled.
    }

    private func armSweep(at deadline: NIODeadline) {
        channel.eventLoop.scheduleTask(deadline: deadline + .milliseconds(1)) { self.sweep() }
    }

    /// Fails every call whose deadline passed, then re-arms the timer for the earliest left.
    private func sweep() {
        let now = NIODeadline.now()
        let (expired, next): ([Pending], NIODeadline?) = calls.withLock { calls in
            var expired: [Pending] = []
            var earliest: NIODeadline?
            for (id, pending) in calls.entries {
                if pending.deadline <= now {
                    expired.append(pending)
                    calls.entries.removeValue(forKey: id)
                } else if earliest.map({ pending.deadline < $0 }) ?? true {
                    earliest = pending.deadline
                }
            }
            calls.sweepAt = earliest
            return (expired, earliest)
        }
        for pending in expired {
            pending.continuation.resume(throwing: ClusterError(
                .timeout, "no reply from \(peer.name) before the call's deadline", node: peer.node))
        }
        if let next { armSweep(at: next) }
    }

    /// Counts an inbound call in; at `limit` running calls, reading from the peer pauses.
    func callStarted(limit: Int) {
        let pause = inbound.withLock { state -> Bool in
            state.running += 1
            state.limit = limit
            guard state.running >= limit, !state.paused else { return false }
            state.paused = true
            return true
        }
        if pause { channel.setOption(.autoRead, value: false).whenFailure { _ in } }
    }

    /// Counts an inbound call out (its reply was queued); reading resumes at half the limit.
    func callFinished() {
        let resume = inbound.withLock { state -> Bool in
            state.running -= 1
            guard state.paused, state.running <= state.limit / 2 else { return false }
            state.paused = false
            return true
        }
        if resume {
            let channel = self.channel
            channel.setOption(.autoRead, value: true).whenSuccess { channel.read() }
        }
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
