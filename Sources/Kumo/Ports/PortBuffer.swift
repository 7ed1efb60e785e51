import DequeModule
import KumoCore
import NIOCore
import Synchronization

/// The bounded buffer behind a ``ReceivePort``, as the transport sees it: not generic, so the
/// network path (append bytes, wake the consumer) needs no generic metadata per message.
final class PortBuffer: PortSink {
    /// A buffered message: encoded bytes from another node, or a value from this node.
    enum Item: Sendable {
        case encoded(ByteBuffer)
        case value(any Sendable)
    }

    private struct State {
        var items: Deque<Item> = []
        var consumer: UnsafeContinuation<Deque<Item>?, Never>?
        var drainWaiters: [@Sendable () -> Void] = []
        var senders: [UnsafeContinuation<Void, any Error>] = []
        var closed = false
    }

    let number: UInt64
    let capacity: Int
    private let state = Mutex(State())
    private let onClose: @Sendable (UInt64) -> Void
    private let node: NodeID

    init(number: UInt64, capacity: Int, node: NodeID, onClose: @escaping @Sendable (UInt64) -> Void) {
        self.number = number
        self.capacity = capacity
        self.node = node
        self.onClose = onClose
    }

    private var closedError: ClusterError {
        ClusterError(.shuttingDown, "port \(number) is closed", node: node)
    }

    func close() {
        let (consumer, drain, senders): (UnsafeContinuation<Deque<Item>?, Never>?, [@Sendable () -> Void], [UnsafeContinuation<Void, any Error>]) =
            state.withLock { state in
                state.closed = true
                let consumer = state.items.isEmpty ? state.consumer : nil
                if consumer != nil { state.consumer = nil }
                defer { state.drainWaiters = []; state.senders = [] }
                return (consumer, state.drainWaiters, state.senders)
            }
        onClose(number)
        consumer?.resume(returning: nil)
        for resume in drain { resume() }
        for sender in senders { sender.resume(throwing: closedError) }
    }

    func deliver(encoded: [ByteBuffer]) -> PortDelivery {
        append(encoded.lazy.map { Item.encoded($0) })
    }

    /// Appends `items` in order; a waiting consumer takes them at once, as its batch.
    @discardableResult
    private func append(_ items: some Collection<Item>) -> PortDelivery {
        let (outcome, consumer, batch): (PortDelivery, UnsafeContinuation<Deque<Item>?, Never>?, Deque<Item>) =
            state.withLock { state in
                guard !state.closed else { return (.closed, nil, []) }
                if let consumer = state.consumer {
                    // The consumer waits, so nothing is buffered: it takes these as they are.
                    state.consumer = nil
                    return (.accepted, consumer, Deque(items))
                }
                state.items.append(contentsOf: items)
                return (state.items.count >= capacity ? .full : .accepted, nil, [])
            }
        consumer?.resume(returning: batch)
        return outcome
    }

    /// Appends a message from this node, waiting while the buffer is full.
    func send(local value: any Sendable) async throws {
        while true {
            let outcome = state.withLock { state -> Bool? in
                if state.closed { return nil }
                return state.items.count < capacity
            }
            guard let hasRoom = outcome else { throw closedError }
            if hasRoom {
                if append(CollectionOfOne(.value(value))) == .closed { throw closedError }
                return
            }
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.closed || state.items.count < capacity { return true }
                    state.senders.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    func whenDrained(_ resume: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.closed || state.items.count < capacity { return true }
            state.drainWaiters.append(resume)
            return false
        }
        if now { resume() }
    }

    /// Takes everything buffered, waiting for at least one message; `nil` once closed and empty.
    func takeBatch() async -> Deque<Item>? {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Deque<Item>?, Never>) in
            let (batch, drain, senders): (Deque<Item>??, [@Sendable () -> Void], [UnsafeContinuation<Void, any Error>]) =
                state.withLock { state in
                    if !state.items.isEmpty {
                        let batch = state.items
                        state.items = []
                        defer { state.drainWaiters = []; state.senders = [] }
                        return (.some(batch), state.drainWaiters, state.senders)
                    }
                    // One consumer per port: a second concurrent one ends at once instead of
                    // displacing (and stranding) the first.
                    if state.closed || state.consumer != nil { return (.some(nil), [], []) }
                    state.consumer = continuation
                    return (nil, [], [])
                }
            for resume in drain { resume() }
            for sender in senders { sender.resume() }
            if let batch { continuation.resume(returning: batch) }
        }
    }
}
