import DequeModule
import KumoCore
import Logging
import NIOCore
import Synchronization

/// The receiving end of a typed channel: an `AsyncSequence` of the messages sent to its
/// ``SendPort``s, from any node, in the order each sender sent them.
///
/// The buffer is bounded by the capacity given to ``ClusterSystem/makeChannel(of:capacity:)``:
/// a full port makes local senders wait and stops reading from the connections that fill it,
/// until the consumer catches up. Messages are decoded by the consumer, in batches, so the
/// network thread only appends bytes. The sequence ends when the port is closed, by ``close()`` or
/// when its system shuts down.
public final class ReceivePort<Message: Codable & Sendable>: AsyncSequence, Sendable, PortSink {
    public typealias Element = Message

    enum Item: Sendable {
        case encoded(ByteBuffer)
        case value(Message)
    }

    private struct State {
        var items: Deque<Item> = []
        var consumer: UnsafeContinuation<Deque<Item>?, Never>?
        var drainWaiters: [@Sendable () -> Void] = []
        var senders: [UnsafeContinuation<Void, any Error>] = []
        var closed = false
    }

    /// The port's number on its node.
    public let number: UInt64
    /// The most messages the port buffers before it pushes back.
    public let capacity: Int
    private let state = Mutex(State())
    private let system: ClusterSystem

    init(number: UInt64, capacity: Int, system: ClusterSystem) {
        self.number = number
        self.capacity = capacity
        self.system = system
    }

    /// Closes the port: senders fail from now on, and iteration ends after the buffered messages.
    public func close() {
        let (consumer, drain, senders): (UnsafeContinuation<Deque<Item>?, Never>?, [@Sendable () -> Void], [UnsafeContinuation<Void, any Error>]) =
            state.withLock { state in
                state.closed = true
                let consumer = state.items.isEmpty ? state.consumer : nil
                if consumer != nil { state.consumer = nil }
                defer { state.drainWaiters = []; state.senders = [] }
                return (consumer, state.drainWaiters, state.senders)
            }
        system.ports.remove(number)
        consumer?.resume(returning: nil)
        for resume in drain { resume() }
        let error = ClusterError(.shuttingDown, "port \(number) is closed", node: system.node)
        for sender in senders { sender.resume(throwing: error) }
    }

    func deliver(encoded: ByteBuffer) -> PortDelivery {
        append(.encoded(encoded))
    }

    @discardableResult
    private func append(_ item: Item) -> PortDelivery {
        let (outcome, consumer): (PortDelivery, UnsafeContinuation<Deque<Item>?, Never>?) = state.withLock { state in
            guard !state.closed else { return (.closed, nil) }
            if let consumer = state.consumer {
                state.consumer = nil
                return (.accepted, consumer)
            }
            state.items.append(item)
            return (state.items.count >= capacity ? .full : .accepted, nil)
        }
        consumer?.resume(returning: [item])
        return outcome
    }

    /// Appends a message from this node, waiting while the port is full.
    func send(local message: Message) async throws {
        while true {
            let outcome = state.withLock { state -> Bool? in
                if state.closed { return nil }
                return state.items.count < capacity
            }
            guard let hasRoom = outcome else {
                throw ClusterError(.shuttingDown, "port \(number) is closed", node: system.node)
            }
            if hasRoom {
                if append(.value(message)) == .closed {
                    throw ClusterError(.shuttingDown, "port \(number) is closed", node: system.node)
                }
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
    private func takeBatch() async -> Deque<Item>? {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Deque<Item>?, Never>) in
            let (batch, drain, senders): (Deque<Item>??, [@Sendable () -> Void], [UnsafeContinuation<Void, any Error>]) =
                state.withLock { state in
                    if !state.items.isEmpty {
                        let batch = state.items
                        state.items = []
                        defer { state.drainWaiters = []; state.senders = [] }
                        return (.some(batch), state.drainWaiters, state.senders)
                    }
                    if state.closed { return (.some(nil), [], []) }
                    state.consumer = continuation
                    return (nil, [], [])
                }
            for resume in drain { resume() }
            for sender in senders { sender.resume() }
            if let batch { continuation.resume(returning: batch) }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let port: ReceivePort
        var batch: Deque<Item> = []

        public mutating func next() async -> Message? {
            while true {
                if batch.isEmpty {
                    guard let next = await port.takeBatch() else { return nil }
                    batch = next
                }
                guard let item = batch.popFirst() else { continue }
                switch item {
                case .value(let message):
                    return message
                case .encoded(let bytes):
                    do {
                        return try port.system.makeDecoder().decode(Message.self, from: bytes)
                    } catch {
                        port.system.logger.warning(
                            "dropped a message to port \(port.number) that does not decode as \(Message.self): \(describe(error))")
                    }
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(port: self)
    }
}
