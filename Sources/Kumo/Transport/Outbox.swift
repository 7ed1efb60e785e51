import DequeModule
import KumoCore
import NIOCore
import Synchronization

/// The write side of one connection: it batches small frames into few syscalls and sends large
/// frames in chunks, interleaved with small ones.
///
/// Any thread may enqueue; the writing itself happens on the connection's event loop, at the end
/// of the loop's turn however many frames arrived, so a burst of small messages costs one
/// `writev` — or sooner for calls and replies queued on the loop, once `flushThreshold` of them
/// wait, so a long burst leaves in pieces.
/// A frame above `chunkSize` is cut into chunk frames (views of its encoded bytes, then copies of
/// its attachments a chunk at a time, made off the lock), written in rounds of ``chunksPerRound``,
/// at most ``roundsInFlight`` rounds at a time; frames enqueued meanwhile are written before the next round, so a large
/// message delays a small one by at most one round. Frames with the same ordering key as a large
/// frame still being chunked wait for it, which keeps per-sender order. The queue is bounded:
/// ``waitForCapacity()`` suspends senders while more than `highWater` bytes wait.
///
/// Each flush adds the bytes it hands to the channel to `kumo.transport.bytes_out` and records
/// what is left waiting in `kumo.transport.outbox_bytes` (so does a sender that must wait).
final class Outbox: Sendable {
    /// How many recently called targets are found without hashing their names.
    static let recentTargetLimit = 4
    /// Chunks written per round.
    static let chunksPerRound = 1
    /// The largest batch buffer kept for the next batch (see `State.spare`).
    static let largestSpare = 64 << 10
    /// Rounds handed to the kernel and not yet taken by it; a new round starts when one is taken,
    /// so large frames stream without stalls while small frames wait for at most this many rounds.
    static let roundsInFlight = 2

    /// A frame above `chunkSize`, sent a chunk at a time: its head's bytes as views, then its
    /// attachments' bytes copied a chunk at a time into chunk buffers.
    private struct LargeFrame {
        var stream: UInt64
        /// The head's bytes not yet sent.
        var head: ByteBuffer
        var attachments: [[UInt8]]
        /// The attachment being sent, and how far.
        var attachment = 0
        var offset = 0
        var total: Int
        /// Bytes not yet sent.
        var remaining: Int
        var key: Int
        var followers: [OutboundFrame] = []
        var sentFirst = false

        init(stream: UInt64, frame: OutboundFrame, key: Int, followers: [OutboundFrame] = []) {
            self.stream = stream
            self.head = frame.head
            self.attachments = frame.attachments
            self.total = frame.size
            self.remaining = total
            self.key = key
            self.followers = followers
        }

        /// Takes the next piece to send, at most `limit` bytes of one part of the frame.
        mutating func takePiece(limit: Int) -> ChunkPiece {
            if head.readableBytes > 0 {
                let count = min(limit, head.readableBytes)
                remaining -= count
                return .view(head.readView(length: count))
            }
            while attachment < attachments.count, offset == attachments[attachment].count {
                attachment += 1
                offset = 0
            }
            guard attachment < attachments.count else { return .view(ByteBuffer()) }
            let count = min(limit, attachments[attachment].count - offset)
            defer { offset += count }
            remaining -= count
            return .copy(attachments[attachment], offset..<(offset + count))
        }
    }

    /// Bytes to write: a view of an encoded frame, or a range of an attachment, copied into a
    /// chunk buffer off the outbox's lock.
    private enum ChunkPiece {
        case view(ByteBuffer)
        case copy([UInt8], Range<Int>)

        var count: Int {
            switch self {
            case .view(let buffer): buffer.readableBytes
            case .copy(_, let range): range.count
            }
        }

        func buffer(_ allocator: ByteBufferAllocator) -> ByteBuffer {
            switch self {
            case .view(let buffer):
                return buffer
            case .copy(let array, let range):
                var buffer = allocator.buffer(capacity: range.count)
                array.withUnsafeBytes { _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[range])) }
                return buffer
            }
        }
    }

    private struct State {
        var small: ByteBuffer?
        /// The buffer of the last batch of small frames handed to the channel, kept to hold the
        /// next batch: once the channel has written it, clearing it keeps its storage, so a
        /// batch costs no allocation and does not grow its buffer a frame at a time (if the
        /// channel still holds it, clearing it gives it fresh storage of the same size).
        var spare: ByteBuffer?
        var large: Deque<LargeFrame> = []
        var flushScheduled = false
        /// The loop will flush again shortly by itself (a stream of one-way messages is flowing),
        /// so senders of messages need not wake it.
        var streamTick = false
        /// One-way messages were queued since the last flush.
        var messagesQueued = false
        /// Calls and replies queued since the last flush.
        var framesQueued = 0
        var roundsInFlight = 0
        /// A flush found the channel not writable: nothing is written until it is again, and
        /// ``writabilityChanged()`` flushes then, so senders must not wake the loop meanwhile
        /// (each wake-up is a system call, and under back pressure every message would make one).
        var unwritable = false
        /// Large frames are being sent (told to the loop's ``BusyPoller``, which then does not spin).
        var streaming = false
        /// Bytes of small frames waiting (followers included).
        var queuedBytes = 0
        /// Bytes of large frames not yet cut into chunks. Counted apart, so a large message
        /// never makes senders of small ones wait.
        var largeBytes = 0
        var waiters: [(id: UInt64, continuation: UnsafeContinuation<Void, any Error>, large: Bool)] = []
        var nextWaiter: UInt64 = 0
        var failure: ClusterError?
        var nextStream: UInt64 = 1
        var targets: [String: (id: UInt32, calls: CallMetrics)] = [:]
        /// The targets called last, found by comparing names rather than hashing them (a
        /// target's name is a long mangled string, and a call site passes the same string every
        /// time, which compares equal at once).
        var recentTargets: [(name: String, target: (id: UInt32, calls: CallMetrics))] = []
    }

    private let state = Mutex(State())
    private let channel: any Channel
    private let chunkSize: Int
    private let highWater: Int
    /// The stream tick's period (zero: no tick, every message wakes the loop).
    private let batchingDelay: Duration
    /// Calls and replies queued on the loop that are written at once, without waiting for the
    /// end of the loop's turn.
    private let flushThreshold: Int
    /// The connection's metrics.
    private let peerMetrics: PeerMetrics
    /// The node's metrics, for the call targets defined on this connection.
    private let metrics: ClusterMetrics
    /// The loop's busy poller, told while large frames stream: a spell keeps the loop from
    /// noticing that the socket can take more.
    private let poller: BusyPoller

    init(
        channel: any Channel, chunkSize: Int, highWater: Int, batchingDelay: Duration, flushThreshold: Int,
        peerMetrics: PeerMetrics, metrics: ClusterMetrics, poller: BusyPoller
    ) {
        self.poller = poller
        self.channel = channel
        self.chunkSize = chunkSize
        self.highWater = highWater
        self.batchingDelay = batchingDelay
        self.flushThreshold = flushThreshold
        self.peerMetrics = peerMetrics
        self.metrics = metrics
    }

    /// Suspends while the outbox holds more than its high-water mark of frames like the one about
    /// to be sent (small or large, counted apart). Throws once the outbox has failed, when
    /// `deadline` passes, or when the task is cancelled — a peer that stops reading can hold a
    /// sender back, never hang it.
    func waitForCapacity(for size: Int = 0, deadline: @autoclosure () -> NIODeadline? = nil) async throws {
        let large = size > chunkSize
        let ready: Bool = try state.withLock { state in
            if let failure = state.failure { throw failure }
            return hasRoom(state, large: large)
        }
        if ready { return }
        let deadline = deadline()  // only on the slow path
        let (id, backlog) = state.withLock { state -> (UInt64, Int) in
            state.nextWaiter &+= 1
            return (state.nextWaiter, state.queuedBytes + state.largeBytes)
        }
        peerMetrics.outboxBytes.record(backlog)
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let outcome: Result<Void, ClusterError>? = state.withLock { state in
                    if let failure = state.failure { return .failure(failure) }
                    if hasRoom(state, large: large) { return .success(()) }
                    if Task.isCancelled { return .failure(ClusterError(.cancelled, "the sending task was cancelled")) }
                    state.waiters.append((id, continuation, large))
                    return nil
                }
                if let outcome {
                    continuation.resume(with: outcome.mapError { $0 as any Error })
                } else if let deadline {
                    channel.eventLoop.scheduleTask(deadline: deadline) {
                        self.abandonWaiter(id, ClusterError(.timeout, "the connection's outbox stayed full until the deadline"))
                    }
                }
            }
        } onCancel: {
            abandonWaiter(id, ClusterError(.cancelled, "the sending task was cancelled"))
        }
    }

    private func abandonWaiter(_ id: UInt64, _ error: ClusterError) {
        let waiter: UnsafeContinuation<Void, any Error>? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        waiter?.resume(throwing: error)
    }

    private func hasRoom(_ state: State, large: Bool) -> Bool {
        large ? state.largeBytes < highWater : state.queuedBytes < highWater
    }

    /// The per-connection id of a call target. The first use of a name enqueues its definition,
    /// under the same lock, so every frame that uses the id is written after it.
    func targetID(for name: String) throws(ClusterError) -> UInt32 {
        try target(for: name).id
    }

    /// The per-connection id of a call target and the caller's metrics for it, kept beside the
    /// id so that a call finds both under the one lock. The first use of a name enqueues its
    /// definition, under the same lock, so every frame that uses the id is written after it.
    func target(for name: String) throws(ClusterError) -> (id: UInt32, calls: CallMetrics) {
        let known = try state.withLock { state throws(ClusterError) -> (id: UInt32, calls: CallMetrics)? in
            if let failure = state.failure { throw failure }
            for recent in state.recentTargets where recent.name == name { return recent.target }
            guard let target = state.targets[name] else { return nil }
            if state.recentTargets.count >= Self.recentTargetLimit { state.recentTargets.removeFirst() }
            state.recentTargets.append((name, target))
            return target
        }
        if let known { return known }
        // The first call to this target on this connection: its metrics are found (or made)
        // off the outbox's lock.
        let calls = metrics.clientCalls(for: name)
        let (target, schedule) = try state.withLock { state throws(ClusterError) -> ((id: UInt32, calls: CallMetrics), Bool) in
            if let failure = state.failure { throw failure }
            if let target = state.targets[name] { return (target, false) }
            let target = (id: UInt32(state.targets.count + 1), calls: calls)
            state.targets[name] = target
            var frame = ByteBuffer()
            TargetDefinitionMessage(id: target.id, name: name).write(to: &frame)
            return (target, Self.appendSmall(frame, to: &state))
        }
        if schedule { scheduleFlush() }
        return target
    }

    /// Enqueues one whole frame. Frames with equal `key` are written in the order enqueued.
    /// A `callOrReply` counts towards the flush threshold.
    func enqueue(_ frame: ByteBuffer, key: Int = 0, callOrReply: Bool = false) throws(ClusterError) {
        try enqueue(OutboundFrame(frame), key: key, callOrReply: callOrReply)
    }

    /// Enqueues one whole frame, with its attachments if it has any (see ``enqueue(_:key:callOrReply:)``).
    func enqueue(_ frame: OutboundFrame, key: Int = 0, callOrReply: Bool = false) throws(ClusterError) {
        let (schedule, queued) = try state.withLock { state throws(ClusterError) -> (Bool, Int) in
            if let failure = state.failure { throw failure }
            if callOrReply { state.framesQueued += 1 }
            return (insert(frame, key: key, into: &state), state.framesQueued)
        }
        if callOrReply, queued >= flushThreshold, channel.eventLoop.inEventLoop {
            // A burst made on the loop (replies to a batch of calls) leaves in pieces, so the peer
            // starts on the first while the rest are still being made.
            flush()
        } else if schedule {
            scheduleFlush()
        }
    }

    /// Enqueues a one-way message once the outbox has room for frames like it: with a single lock
    /// when it has room now (the usual case), after ``waitForCapacity(for:deadline:)`` otherwise.
    ///
    /// While messages keep coming, the loop flushes them on a short tick of its own
    /// (``batchingDelay``) and their senders do not wake it: waking the loop costs the sender a
    /// system call and, on a shared CPU, a thread switch per message — the trade Erlang's
    /// `delay_send` makes. The first message of a stream, and every call and reply, wake the loop
    /// at once.
    ///
    /// `key` is only computed when the order it keeps is at stake: the message is large, or a
    /// large frame is still being sent.
    func enqueueMessage(_ frame: ByteBuffer, key: @autoclosure () -> Int, deadline: @autoclosure () -> NIODeadline?) async throws {
        let large = frame.readableBytes > chunkSize
        let outcome: Bool? = try state.withLock { state throws(ClusterError) -> Bool? in
            if let failure = state.failure { throw failure }
            guard hasRoom(state, large: large) else { return nil }
            state.messagesQueued = true
            return insert(OutboundFrame(frame), key: large || !state.large.isEmpty ? key() : 0, into: &state, lazy: true)
        }
        if let schedule = outcome {
            if schedule { scheduleFlush() }
            return
        }
        try await waitForCapacity(for: frame.readableBytes, deadline: deadline())
        try enqueue(frame, key: key())
    }

    /// Queues `frame`; returns whether a flush must be scheduled.
    private func insert(_ frame: OutboundFrame, key: Int, into state: inout State, lazy: Bool = false) -> Bool {
        let size = frame.size
        if !state.large.isEmpty, let index = state.large.lastIndex(where: { $0.key == key }) {
            // Same sender and target as a large frame still in chunks: keep the order.
            state.large[index].followers.append(frame)
            state.queuedBytes += size
            return false
        }
        if size > chunkSize {
            let stream = state.nextStream
            state.nextStream &+= 1
            state.large.append(LargeFrame(stream: stream, frame: frame, key: key))
            state.largeBytes += size
            return Self.markFlush(&state)
        }
        return Self.appendSmall(frame.flattened(), to: &state, lazy: lazy)
    }

    private static func appendSmall(_ frame: ByteBuffer, to state: inout State, lazy: Bool = false) -> Bool {
        state.queuedBytes += frame.readableBytes
        if var small = state.small {
            state.small = nil  // keep the storage uniquely referenced while appending
            small.writeImmutableBuffer(frame)
            state.small = small
        } else if var spare = state.spare, spare.capacity >= frame.readableBytes {
            state.spare = nil
            spare.clear()
            spare.writeImmutableBuffer(frame)
            state.small = spare
        } else {
            state.small = frame
        }
        return markFlush(&state, lazy: lazy)
    }

    /// Whether the caller must schedule a flush: none is scheduled yet, and (for a `lazy` frame)
    /// no stream tick will come by to write it.
    private static func markFlush(_ state: inout State, lazy: Bool = false) -> Bool {
        if state.flushScheduled || state.unwritable || (lazy && state.streamTick) { return false }
        state.flushScheduled = true
        return true
    }

    private func scheduleFlush() {
        channel.eventLoop.execute { self.flush() }
    }

    /// Called by the handler when the channel becomes writable again.
    func writabilityChanged() {
        if channel.isWritable {
            let schedule = state.withLock { state in
                state.unwritable = false
                return Self.markFlush(&state)
            }
            if schedule { scheduleFlush() }
        }
    }

    /// Writes what is queued. Runs on the event loop.
    private func flush() {
        let writable = channel.isWritable
        var rounds: [[ChunkPiece]] = []
        var wakeWaiters: [UnsafeContinuation<Void, any Error>] = []
        var armTick = false
        var backlog = 0
        var streamingChange: Bool?
        let small: ByteBuffer? = state.withLock { state in
            state.flushScheduled = false
            state.framesQueued = 0
            defer { backlog = state.queuedBytes + state.largeBytes }
            guard state.failure == nil else { return nil }
            guard writable else {
                state.unwritable = true
                return nil
            }
            if state.messagesQueued && batchingDelay > .zero && !state.streamTick {
                state.streamTick = true
                armTick = true
            }
            state.messagesQueued = false
            let small = state.small
            state.small = nil
            if let small, small.capacity <= Self.largestSpare { state.spare = small }
            var written = small?.readableBytes ?? 0
            while state.roundsInFlight < Self.roundsInFlight && !state.large.isEmpty {
                var round: [ChunkPiece] = []
                var budget = Self.chunksPerRound
                while budget > 0, var frame = state.large.popFirst() {
                    budget -= 1
                    let payload = frame.takePiece(limit: chunkSize)
                    let count = payload.count
                    let isLast = frame.remaining == 0
                    var header = ByteBuffer()
                    ChunkMessage.writeHeader(
                        stream: frame.stream, isFirst: !frame.sentFirst, isLast: isLast, totalLength: frame.total,
                        payloadLength: count, to: &header)
                    frame.sentFirst = true
                    round.append(.view(header))
                    round.append(payload)
                    state.largeBytes -= count
                    if isLast {
                        // Frames that had to wait for this one go right after its last chunk; a
                        // large one among them is chunked next, and the rest wait for it in turn.
                        var followers = frame.followers[...]
                        while let next = followers.popFirst() {
                            if next.size > chunkSize {
                                // It was counted as a follower; from now on it counts as large.
                                state.queuedBytes -= next.size
                                state.largeBytes += next.size
                                let stream = state.nextStream
                                state.nextStream &+= 1
                                state.large.append(LargeFrame(
                                    stream: stream, frame: next, key: frame.key, followers: Array(followers)))
                                break
                            }
                            written += next.size
                            round.append(.view(next.flattened()))
                        }
                    } else {
                        state.large.append(frame)  // round-robin between large frames
                    }
                }
                rounds.append(round)
                state.roundsInFlight += 1
            }
            state.queuedBytes -= written
            streamingChange = Self.updateStreaming(&state)
            if !state.waiters.isEmpty {
                var waiting: [(id: UInt64, continuation: UnsafeContinuation<Void, any Error>, large: Bool)] = []
                for waiter in state.waiters {
                    if hasRoom(state, large: waiter.large) {
                        wakeWaiters.append(waiter.continuation)
                    } else {
                        waiting.append(waiter)
                    }
                }
                state.waiters = waiting
            }
            return small
        }
        for waiter in wakeWaiters { waiter.resume() }
        if let streamingChange { poller.streaming(streamingChange) }
        if armTick {
            channel.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(batchingDelay)) { self.streamTickFired() }
        }
        peerMetrics.outboxBytes.record(backlog)
        guard small != nil || !rounds.isEmpty else { return }
        var written = small?.readableBytes ?? 0
        for round in rounds {
            for piece in round { written += piece.count }
        }
        peerMetrics.bytesOut.increment(by: written)
        if let small { channel.write(small, promise: nil) }
        for round in rounds {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            for (index, piece) in round.enumerated() {
                channel.write(piece.buffer(channel.allocator), promise: index == round.count - 1 ? promise : nil)
            }
            promise.futureResult.whenComplete { _ in
                let (schedule, change) = self.state.withLock { state -> (Bool, Bool?) in
                    state.roundsInFlight -= 1
                    let change = Self.updateStreaming(&state)
                    guard !state.large.isEmpty || state.small != nil else { return (false, change) }
                    return (Self.markFlush(&state), change)
                }
                if let change { self.poller.streaming(change) }
                // Not inline: a write that fails at once completes its promise synchronously.
                if schedule { self.channel.eventLoop.execute { self.flush() } }
            }
        }
        channel.flush()
    }

    /// The stream tick: writes the messages that came in since the last flush, and keeps ticking
    /// while they come. Runs on the event loop.
    private func streamTickFired() {
        let due = state.withLock { state -> Bool in
            state.streamTick = false
            return state.small != nil && !state.flushScheduled
        }
        if due { flush() }
    }

    /// Whether large frames are being sent now, if that changed (then `state.streaming` is updated).
    private static func updateStreaming(_ state: inout State) -> Bool? {
        let streaming = state.failure == nil && (!state.large.isEmpty || state.roundsInFlight > 0)
        guard streaming != state.streaming else { return nil }
        state.streaming = streaming
        return streaming
    }

    /// Fails the outbox: queued frames are dropped and waiting senders get `error`.
    func fail(_ error: ClusterError) {
        let (waiters, change): ([UnsafeContinuation<Void, any Error>], Bool?) = state.withLock { state in
            if state.failure == nil { state.failure = error }
            state.small = nil
            state.spare = nil
            state.large = []
            state.queuedBytes = 0
            state.largeBytes = 0
            let waiters = state.waiters.map(\.continuation)
            state.waiters = []
            return (waiters, Self.updateStreaming(&state))
        }
        if let change { poller.streaming(change) }
        peerMetrics.outboxBytes.record(0)
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}

extension ByteBuffer {
    /// Reads `length` bytes as a buffer that shares this one's storage, made by narrowing a copy's
    /// indices instead of slicing: NIO copies a slice that begins more than 16 MiB into its
    /// storage, a view never copies. Views are only written to the channel, never mutated.
    fileprivate mutating func readView(length: Int) -> ByteBuffer {
        var view = self
        view.moveWriterIndex(to: readerIndex + length)
        moveReaderIndex(forwardBy: length)
        return view
    }
}
