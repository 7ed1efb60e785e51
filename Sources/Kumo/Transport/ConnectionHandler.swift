import KumoCore
import Logging
import NIOCore

/// The one channel handler of a Kumo connection: it frames the byte stream, runs the handshake,
/// and then hands each frame to the system.
///
/// Everything here runs on the connection's event loop. Calls are dispatched as tasks that prefer
/// that loop, replies complete their callers on it, and one-way messages are appended to their
/// ports' buffers; nothing hops threads per message. Any protocol violation closes this one
/// connection with a log line and affects nothing else.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let system: ClusterSystem
    private var parser: FrameParser
    private var handshake: HandshakeStateMachine
    private var reassembler: Reassembler
    private var connection: Connection?
    private var targets: [UInt32: InboundTarget] = [:]
    private var handshakeTimer: Scheduled<Void>?
    private var closing = false
    /// A large frame is partly read, as last told to the loop's poller (which starts no spell
    /// while any connection on the loop streams).
    private var receivingStream = false
    /// One-way messages read for one port and not yet handed to it: consecutive messages to a
    /// port go to it together (one lock, one wake-up of its consumer), before any other frame is
    /// handled and at the end of each read, so the order of frames is kept.
    private var portBatch: (port: UInt64, payloads: [ByteBuffer])?
    private var logger: Logger
    /// Bytes read and written during the handshake, added to the peer's counts once it is known.
    private var handshakeBytesIn = 0
    private var handshakeBytesOut = 0

    static let maximumTargets = 1 << 16

    init(system: ClusterSystem, role: HandshakeStateMachine.Role) {
        self.system = system
        let settings = system.settings
        self.parser = FrameParser(maxFrameSize: settings.maxFrameSize)
        self.handshake = HandshakeStateMachine(
            role: role, local: system.node, localName: settings.name, secret: settings.secret)
        self.reassembler = Reassembler(
            maximumMessageSize: settings.maxMessageSize, arrays: settings.reuseReceivedArrays ? system.receivedArrays : nil)
        self.logger = system.logger
    }

    func channelActive(context: ChannelHandlerContext) {
        logger[metadataKey: "kumo.peer.address"] = "\(context.remoteAddress.map { "\($0)" } ?? "?")"
        let timeout = TimeAmount(system.settings.handshakeTimeout)
        let channel = context.channel
        // Captured strongly (a weak reference would give the handler a side table and slow every
        // retain of it): the timer is cancelled when the handshake finishes, or fires once.
        handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.abort(channel: channel, ClusterError(.handshakeFailed, "handshake did not finish within \(timeout)"))
        }
        if handshake.role == .initiator {
            let hello = handshake.start()
            handshakeBytesOut += hello.readableBytes
            context.writeAndFlush(wrapOutboundOut(hello), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let bytes = unwrapInboundIn(data)
        system.poller.activity(readBytes: bytes.readableBytes)
        if let connection {
            connection.metrics.bytesIn.increment(by: bytes.readableBytes)
        } else {
            handshakeBytesIn += bytes.readableBytes
        }
        parser.append(bytes)
        do {
            while !closing, let item = try parser.nextItem(maximumMessageSize: system.settings.maxMessageSize) {
                guard let connection else {
                    guard case .frame(let frame) = item else {
                        throw WireError(.malformed, "a chunk frame before the handshake finished")
                    }
                    handleHandshake(frame, context: context)
                    continue
                }
                let frame: Frame
                switch item {
                case .frame(let whole):
                    frame = whole
                case .chunk(let chunk):
                    // Chunk payloads arrive piece by piece and go straight into the reassembly
                    // buffer; the frame they make up is handled once it is whole.
                    guard let whole = try reassembler.add(chunk) else { continue }
                    if reassembler.takeTrimDue() { system.scheduleReceivedArraysTrim() }
                    frame = whole
                }
                // Target definitions pass: TCP drops no frame mid-stream, and later calls rely on them.
                if let faults = system.settings.faults, frame.kind != .targetDefinition {
                    // Injected faults act on whole frames, however TCP happened to cut them.
                    switch faults.decide(from: connection.peer.node.address, to: system.node.address) {
                    case .deliver: break
                    case .drop: continue
                    case .delay(let amount):
                        context.eventLoop.assumeIsolated().scheduleTask(in: amount) { [weak self] in
                            guard let self else { return }
                            try? self.handleEstablished(frame, connection: connection, context: context)
                            self.deliverPortBatch(connection)
                        }
                        continue
                    }
                }
                try handleEstablished(frame, connection: connection, context: context)
            }
            if let connection { deliverPortBatch(connection) }
            noteStreaming(reassembler.isReceiving)
        } catch let error as WireError {
            logger.warning("closing connection: \(error)")
            abort(channel: context.channel, ClusterError(.protocolError, error.description, node: connection?.peer.node))
        } catch {
            logger.warning("closing connection: \(error)")
            abort(channel: context.channel, ClusterError(.protocolError, "\(error)", node: connection?.peer.node))
        }
    }

    private func handleHandshake(_ frame: Frame, context: ChannelHandlerContext) {
        let action = handshake.receive(frame) { system.admit(peer: $0) }
        switch action {
        case .send(let bytes):
            handshakeBytesOut += bytes.readableBytes
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        case .establish(let peer, let bytes):
            handshakeTimer?.cancel()
            if let bytes {
                handshakeBytesOut += bytes.readableBytes
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            }
            let connection = Connection(
                channel: context.channel, peer: peer, settings: system.settings, metrics: system.metrics,
                poller: system.poller)
            self.connection = connection
            // The handshake's bytes count for the peer (the bytes of this read after the
            // handshake's last frame are among them).
            connection.metrics.bytesIn.increment(by: handshakeBytesIn)
            connection.metrics.bytesOut.increment(by: handshakeBytesOut)
            system.metrics.connectionOpened()
            logger[metadataKey: "kumo.peer"] = "\(peer.name) \(peer.node)"
            logger.debug("connection established")
            system.established(connection, initiator: handshake.role == .initiator)
        case .reject(let bytes, let error):
            handshakeTimer?.cancel()
            logger.warning("refused peer in handshake: \(error.message)")
            closing = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
            system.handshakeFailed(channel: context.channel, error)
        case .fail(let error):
            handshakeTimer?.cancel()
            if error.code == .duplicateConnection {
                logger.debug("handshake ended: \(error.message)")
            } else {
                logger.warning("handshake failed: \(error.message)")
            }
            abort(channel: context.channel, error)
        }
    }

    private func handleEstablished(_ frame: Frame, connection: Connection, context: ChannelHandlerContext) throws {
        if frame.kind != .message { deliverPortBatch(connection) }
        switch frame.kind {
        case .call:
            var call = try CallMessage(body: frame.body)
            call.attachments = frame.attachments
            guard let target = targets[call.target] else {
                throw WireError(.malformed, "call uses target id \(call.target), which was never defined")
            }
            system.dispatch(call, target: target, from: connection)
        case .reply:
            var reply = try ReplyMessage(body: frame.body)
            reply.attachments = frame.attachments
            connection.complete(reply)
        case .message:
            let message = try PortMessage(body: frame.body)
            if portBatch?.port == message.port {
                portBatch?.payloads.append(message.payload)
            } else {
                deliverPortBatch(connection)
                portBatch = (message.port, [message.payload])
            }
            return
        case .targetDefinition:
            let definition = try TargetDefinitionMessage(body: frame.body)
            guard targets.count < Self.maximumTargets || targets[definition.id] != nil else {
                throw WireError(.malformed, "more than \(Self.maximumTargets) call targets defined")
            }
            targets[definition.id] = InboundTarget(name: definition.name)
        case .chunk:
            throw WireError(.malformed, "chunks may not be nested")
        case .attached:
            // A frame with attachments small enough to come whole (large ones come in chunks
            // and are unpacked by the reassembler).
            try handleEstablished(try AttachedFrame.unpack(body: frame.body), connection: connection, context: context)
        case .cancel:
            let cancel = try CancelMessage(body: frame.body)
            if !connection.cancelInbound(cancel.callID) {
                // Usually a call that replied while its caller gave up; nothing to cancel.
                logger.debug("ignored a cancel for call \(cancel.callID), which is not running")
            }
        case .ping:
            var pong = ByteBuffer()
            let start = pong.beginFrame(.pong)
            pong.writeImmutableBuffer(frame.body)
            pong.endFrame(startedAt: start)
            try connection.outbox.enqueue(pong)
        case .pong:
            break
        case .goodbye:
            logger.debug("peer said goodbye")
            closing = true
            connection.fail(ClusterError(.shuttingDown, "\(connection.peer.name) is shutting down", node: connection.peer.node))
            context.close(promise: nil)
        case .hello, .challenge, .proof, .accepted, .reject:
            throw WireError(.malformed, "unexpected \(frame.kind) frame on an established connection")
        }
    }

    /// Hands the batch of one-way messages read so far to its port.
    private func deliverPortBatch(_ connection: Connection) {
        guard let batch = portBatch else { return }
        portBatch = nil
        system.deliver(batch.payloads, to: batch.port, from: connection)
    }

    /// Tells the poller when this connection starts or stops receiving a large frame: in the
    /// middle of one, the next bytes come at once, and a spell (in which the loop reads nothing)
    /// would stall the stream while the sender's socket buffer fills.
    private func noteStreaming(_ receiving: Bool) {
        guard receiving != receivingStream else { return }
        receivingStream = receiving
        system.poller.streaming(receiving)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection?.outbox.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        noteStreaming(false)
        if let connection {
            let error = ClusterError(.connectionLost, "connection to \(connection.peer.name) closed", node: connection.peer.node)
            connection.fail(error)
            system.metrics.connectionClosed()
            system.closed(connection)
        } else {
            system.handshakeFailed(
                channel: context.channel, ClusterError(.handshakeFailed, "connection closed during the handshake"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error: \(error)")
        abort(channel: context.channel, ClusterError(.connectionLost, "\(error)", node: connection?.peer.node))
    }

    private func abort(channel: any Channel, _ error: ClusterError) {
        guard !closing else { return }
        closing = true
        if let connection {
            connection.fail(error)
        } else {
            system.handshakeFailed(channel: channel, error)
        }
        channel.close(promise: nil)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
