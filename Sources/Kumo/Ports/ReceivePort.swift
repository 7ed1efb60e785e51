import DequeModule
import KumoCore
import Logging
import NIOCore

/// The receiving end of a typed channel: an `AsyncSequence` of the messages sent to its
/// ``SendPort``s, from any node, in the order each sender sent them.
///
/// The buffer is bounded by the capacity given to ``ClusterSystem/makeChannel(of:capacity:)``:
/// a full port makes local senders wait and stops reading from the connections that fill it,
/// until the consumer catches up. Messages are decoded by the consumer, in batches, so the
/// network thread only appends bytes. The sequence ends when the port is closed, by ``close()`` or
/// when its system shuts down.
public final class ReceivePort<Message: Codable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Message

    let buffer: PortBuffer
    private let system: ClusterSystem

    init(buffer: PortBuffer, system: ClusterSystem) {
        self.buffer = buffer
        self.system = system
    }

    /// The port's number on its node.
    public var number: UInt64 { buffer.number }
    /// The most messages the port buffers before it pushes back.
    public var capacity: Int { buffer.capacity }

    /// Closes the port: senders fail from now on, and iteration ends after the buffered messages.
    public func close() {
        buffer.close()
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let port: ReceivePort
        var batch: Deque<PortBuffer.Item> = []
        /// The system's decoder, taken once per batch rather than once per message.
        var decoder: BinaryDecoder?

        public mutating func next() async -> Message? {
            while true {
                if batch.isEmpty {
                    guard let next = await port.buffer.takeBatch() else { return nil }
                    batch = next
                    decoder = nil
                }
                guard let item = batch.popFirst() else { continue }
                switch item {
                case .value(let value):
                    if let message = value as? Message { return message }
                    port.system.logger.warning("dropped a local message to port \(port.number) that is not a \(Message.self)")
                case .encoded(let bytes):
                    do {
                        let decoder = self.decoder ?? port.system.makeDecoder()
                        self.decoder = decoder
                        return try decoder.decode(Message.self, from: bytes)
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
