import KumoCore
import NIOCore

extension ClusterSystem {
    /// Creates a typed channel: a ``SendPort`` to hand to any node and the ``ReceivePort`` that
    /// receives what is sent to it.
    /// - Parameters:
    ///   - type: the message type.
    ///   - capacity: how many messages the port buffers before it pushes back on senders.
    public func makeChannel<Message: Codable & Sendable>(
        of type: Message.Type = Message.self, capacity: Int = 65_536
    ) throws -> (SendPort<Message>, ReceivePort<Message>) {
        let ports = self.ports
        guard let (number, sink) = ports.register({ number in
            PortBuffer(number: number, capacity: max(1, capacity), node: node) { ports.remove($0) }
        }), let buffer = sink as? PortBuffer
        else {
            throw ClusterError(.shuttingDown, "node \(settings.name) is shutting down", node: node)
        }
        return (SendPort(node: node, number: number, system: self), ReceivePort(buffer: buffer, system: self))
    }

    func send<Message: Codable & Sendable>(_ message: Message, to port: SendPort<Message>) async throws {
        if port.node == node {
            guard let receiver = ports.sink(port.number) as? PortBuffer else {
                throw ClusterError(.shuttingDown, "port \(port.number) is closed", node: node)
            }
            try await receiver.send(local: message)
            return
        }
        let kept = port.route?.connection
        let connection = if let kept { kept } else { try await route(port) }
        var frame = ByteBufferAllocator().buffer(capacity: 128)
        let start = frame.beginFrame(.message)
        frame.writeWireVarint(port.number)
        do {
            try Self.plainEncoder.encode(message, into: &frame)
        } catch {
            throw ClusterError(.encodingFailed, "cannot encode a \(Message.self) for \(port): \(describe(error))")
        }
        frame.endFrame(startedAt: start)
        do {
            try await enqueue(message: frame, on: connection, port: port.number)
        } catch where kept != nil && !connection.isActive {
            // The kept connection died since the last send: look the node up again (a new
            // connection, or the reason there is none).
            port.route?.keep(nil)
            try await enqueue(message: frame, on: route(port), port: port.number)
        }
    }

    /// Looks up the connection to `port`'s node and keeps it in the port's route.
    private func route<Message>(_ port: SendPort<Message>) async throws -> Connection {
        let connection = try await self.connection(to: port.node)
        port.route?.keep(connection)
        return connection
    }

    private func enqueue(message frame: ByteBuffer, on connection: Connection, port: UInt64) async throws {
        try await connection.outbox.enqueueMessage(
            frame, key: withUnsafeCurrentTask { $0?.hashValue ?? 0 } ^ Int(truncatingIfNeeded: port),
            deadline: Self.callDeadline ?? NIODeadline.now() + TimeAmount(self.settings.callTimeout))
        connection.metrics.messagesSent.increment()
    }

    /// The encoder for messages: no user info, no attachments.
    private static let plainEncoder = BinaryEncoder()

    /// Hands inbound one-way messages, read one after another for one port, to the port. Runs on
    /// the event loop; when the port fills up, reading from this connection pauses until it drains.
    func deliver(_ payloads: [ByteBuffer], to port: UInt64, from connection: Connection) {
        connection.metrics.messagesReceived.increment(by: payloads.count)
        guard let sink = ports.sink(port) else {
            logger.debug(
                "dropped \(payloads.count) message(s) to unknown port \(port)", metadata: ["kumo.peer": "\(connection.peer.node)"])
            return
        }
        if sink.deliver(encoded: payloads) == .full {
            let reason = Connection.PauseReason.port(port)
            connection.pauseReading(reason)
            sink.whenDrained { connection.resumeReading(reason) }
        }
    }
}
