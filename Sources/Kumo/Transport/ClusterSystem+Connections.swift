import KumoCore
import NIOCore
import NIOPosix

/// The system's connections, by peer address: one slot per peer.
struct PeerTable: Sendable {
    enum Slot: Sendable {
        /// An outbound connection is being opened; callers wait on the promise.
        case connecting(EventLoopPromise<Connection>)
        /// An established connection.
        case connected(Connection)
        /// The last attempt failed at the given time; calls fail fast until the backoff ends.
        case failed(NIODeadline, ClusterError)
    }

    var slots: [NodeAddress: Slot] = [:] {
        didSet { recent.removeAll(keepingCapacity: true) }
    }
    /// The connections last looked up by node, at most ``recentLimit``, found by incarnation
    /// without hashing an address: every message and call looks its peer up, and hashing the
    /// address's host was a visible part of sending one. Emptied whenever a slot changes.
    private(set) var recent: [(incarnation: UInt64, connection: Connection)] = []
    static let recentLimit = 8

    /// The established connection to `node` among the recent ones.
    func recentConnection(to node: NodeID) -> Connection? {
        for entry in recent where entry.incarnation == node.incarnation && entry.connection.peer.node == node {
            return entry.connection
        }
        return nil
    }

    mutating func remember(_ connection: Connection) {
        if recent.count >= Self.recentLimit { recent.removeFirst() }
        recent.append((connection.peer.node.incarnation, connection))
    }

    /// Every open channel, established or not, for shutdown.
    var channels: [ObjectIdentifier: any Channel] = [:]
    /// Outbound channels still in their handshake, and the address each one is for.
    var dialing: [ObjectIdentifier: NodeAddress] = [:]
    /// The peer addresses this node had an established connection with, to count reconnects.
    /// Like the failed slots above, one entry per address ever connected.
    var connectedBefore: Set<NodeAddress> = []
    var shuttingDown = false
}

extension ClusterSystem {
    /// Connects to the node at `address` (or reuses the connection) and returns its identity.
    ///
    /// This is how a program learns a peer's ``NodeID`` to address its actors:
    /// `try Worker.resolve(id: .named("worker", on: try await system.connect(to: address)), using: system)`.
    public func connect(to address: NodeAddress) async throws -> NodeID {
        try await connection(to: address, expecting: nil).peer.node
    }

    /// The nodes this node has an established connection to, in no particular order.
    public var connectedNodes: [NodeID] {
        peers.withLock { table in
            var seen = Set<ObjectIdentifier>()
            return table.slots.values.compactMap { slot in
                guard case .connected(let connection) = slot, seen.insert(ObjectIdentifier(connection)).inserted else {
                    return nil
                }
                return connection.peer.node
            }
        }
    }

    /// The connection to `node`, opened if needed. Fails fast when the node is known unreachable,
    /// and with ``ClusterError/Code/nodeGone`` when another incarnation now runs at its address.
    func connection(to node: NodeID) async throws -> Connection {
        try await connection(to: node.address, expecting: node)
    }

    private enum Lookup {
        case ready(Connection)
        case wait(EventLoopFuture<Connection>)
        case dial(EventLoopPromise<Connection>)
        case fail(ClusterError)
    }

    private func connection(to address: NodeAddress, expecting node: NodeID?) async throws -> Connection {
        let lookup: Lookup = peers.withLock { table in
            if table.shuttingDown {
                return .fail(ClusterError(.shuttingDown, "node \(settings.name) is shutting down", node: self.node))
            }
            if let node, let recent = table.recentConnection(to: node) { return .ready(recent) }
            switch table.slots[address] {
            case .connected(let connection):
                if let node, connection.peer.node == node { table.remember(connection) }
                return .ready(connection)
            case .connecting(let promise):
                return .wait(promise.futureResult)
            case .failed(let at, let error) where NIODeadline.now() < at + TimeAmount(settings.reconnectBackoff):
                return .fail(error)
            case .failed, nil:
                let promise = eventLoop.makePromise(of: Connection.self)
                table.slots[address] = .connecting(promise)
                return .dial(promise)
            }
        }
        let connection: Connection
        switch lookup {
        case .ready(let ready):
            connection = ready
        case .wait(let future):
            connection = try await future.get()
        case .dial(let promise):
            dial(address, promise: promise)
            connection = try await promise.futureResult.get()
        case .fail(let error):
            throw error
        }
        if let node, connection.peer.node != node {
            throw ClusterError(
                .nodeGone,
                "node \(node) is gone: \(connection.peer.node) (\(connection.peer.name)) now runs at \(address)",
                node: node)
        }
        return connection
    }

    private func dial(_ address: NodeAddress, promise: EventLoopPromise<Connection>) {
        guard address != node.address else {
            connectFailed(address, ClusterError(.invalidConfiguration, "a node cannot connect to itself (\(address))"))
            return
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(settings.connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: Self.receiveAllocator)
            .channelInitializer { channel in
                let registered: Bool = self.peers.withLock { table in
                    guard !table.shuttingDown else { return false }
                    table.channels[ObjectIdentifier(channel)] = channel
                    table.dialing[ObjectIdentifier(channel)] = address
                    return true
                }
                guard registered else {
                    return channel.eventLoop.makeFailedFuture(
                        ClusterError(.shuttingDown, "node \(self.settings.name) is shutting down"))
                }
                return channel.eventLoop.makeCompletedFuture {
                    try self.configureSocket(of: channel)
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(system: self, role: .initiator))
                }
            }
            .connect(host: address.host, port: address.port)
            .whenFailure { error in
                self.connectFailed(
                    address, ClusterError(.nodeUnreachable, "cannot connect to \(address): \(error)"))
            }
    }

    private func connectFailed(_ address: NodeAddress, _ error: ClusterError) {
        let promise: EventLoopPromise<Connection>? = peers.withLock { table in
            guard case .connecting(let promise) = table.slots[address] else { return nil }
            table.slots[address] = .failed(.now(), error)
            return promise
        }
        logger.debug("connection attempt failed", metadata: ["kumo.peer.address": "\(address)", "error": "\(error.message)"])
        promise?.fail(error)
    }

    /// Asked by the acceptor side of a handshake: may `peer` connect? Refuses a second connection
    /// between the same two nodes; when both dial each other at once, the one dialled by the node
    /// with the lower identity wins, on both sides.
    func admit(peer: NodeID) -> RejectMessage? {
        peers.withLock { table in
            if table.shuttingDown {
                return RejectMessage(reason: .shuttingDown, message: "node is shutting down")
            }
            if peer.address == node.address {
                return RejectMessage(reason: .protocolError, message: "peer claims this node's own address \(peer.address)")
            }
            switch table.slots[peer.address] {
            case .connected(let existing) where existing.peer.node == peer && existing.isActive:
                return RejectMessage(reason: .duplicateConnection, message: "already connected to \(peer)")
            case .connecting where node < peer:
                return RejectMessage(reason: .duplicateConnection, message: "dialling \(peer) already; that connection wins")
            default:
                return nil
            }
        }
    }

    /// A handshake finished: the connection serves its peer from now on.
    func established(_ connection: Connection, initiator: Bool) {
        let address = connection.peer.node.address
        var reconnected = false
        let (promise, replaced, dialledPromise, refused): (EventLoopPromise<Connection>?, Connection?, EventLoopPromise<Connection>?, Bool) =
            peers.withLock { table in
            let id = ObjectIdentifier(connection.channel)
            let dialled = table.dialing.removeValue(forKey: id)
            if table.shuttingDown { return (nil, nil, nil, true) }
            table.channels[id] = connection.channel
            reconnected = !table.connectedBefore.insert(address).inserted
            // The peer may announce another address than the one dialled (a host name, a
            // wildcard bind): the dialled slot is served by this connection too.
            var dialledPromise: EventLoopPromise<Connection>?
            if let dialled, dialled != address {
                if case .connecting(let waiting) = table.slots[dialled] { dialledPromise = waiting }
                table.slots[dialled] = .connected(connection)
            }
            switch table.slots[address] {
            case .connecting(let promise):
                table.slots[address] = .connected(connection)
                return (promise, nil, dialledPromise, false)
            case .connected(let existing) where existing !== connection:
                table.slots[address] = .connected(connection)
                return (nil, existing, dialledPromise, false)
            default:
                table.slots[address] = .connected(connection)
                return (nil, nil, dialledPromise, false)
            }
        }
        if refused {
            connection.fail(ClusterError(.shuttingDown, "node \(settings.name) is shutting down", node: node))
            connection.channel.close(promise: nil)
            return
        }
        if reconnected { connection.metrics.reconnects.increment() }
        dialledPromise?.succeed(connection)
        if let replaced {
            logger.debug("replacing connection", metadata: ["kumo.peer": "\(replaced.peer.node)"])
            replaced.fail(ClusterError(.connectionLost, "replaced by a newer connection to \(connection.peer.node)"))
            replaced.channel.close(promise: nil)
        }
        promise?.succeed(connection)
    }

    /// An established connection closed. The membership agent probes the peer at once: a crashed
    /// process is then noticed in milliseconds, not at its next turn in the probe order.
    func closed(_ connection: Connection) {
        if settings.membership.enabled {
            let peer = connection.peer.node
            Task { _ = await self.withDaemon { await $0.connectionClosed(peer) } }
        }
        peers.withLock { table in
            let id = ObjectIdentifier(connection.channel)
            table.channels.removeValue(forKey: id)
            for (address, slot) in table.slots {
                if case .connected(let current) = slot, current === connection {
                    table.slots.removeValue(forKey: address)
                }
            }
        }
    }

    /// A connection failed before it was established.
    func handshakeFailed(channel: any Channel, _ error: ClusterError) {
        let id = ObjectIdentifier(channel)
        let (address, promise, waiting): (NodeAddress?, EventLoopPromise<Connection>?, EventLoopPromise<Connection>?) =
            peers.withLock { table in
                table.channels.removeValue(forKey: id)
                guard let address = table.dialing.removeValue(forKey: id) else { return (nil, nil, nil) }
                guard case .connecting(let promise) = table.slots[address] else { return (address, nil, nil) }
                if error.code == .duplicateConnection {
                    return (address, nil, promise)  // the peer's own connection will complete it
                }
                table.slots[address] = .failed(.now(), error)
                return (address, promise, nil)
            }
        if let promise {
            promise.fail(error)
        } else if let address, let waiting {
            // Should the peer's connection never arrive, do not leave callers waiting forever;
            // fail only this attempt, not a later one.
            eventLoop.scheduleTask(in: TimeAmount(settings.handshakeTimeout)) {
                let stale: Bool = self.peers.withLock { table in
                    guard case .connecting(let current) = table.slots[address], current.futureResult === waiting.futureResult
                    else { return false }
                    table.slots[address] = .failed(.now(), ClusterError(.handshakeFailed, "lost a connection race"))
                    return true
                }
                if stale {
                    waiting.fail(ClusterError(.handshakeFailed, "lost a connection race with \(address) and no connection followed"))
                }
            }
        }
    }
}

extension ClusterSystem {
    /// Reads of up to 1 MiB: a large message arrives in few reads, a small one in a small buffer.
    static var receiveAllocator: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 1 << 20)
    }

    /// Applies ``ClusterSettings/socketBufferSize`` to a connection's socket. Runs on the
    /// channel's event loop, before the channel is active.
    func configureSocket(of channel: any Channel) throws {
        guard let size = settings.socketBufferSize, let options = channel.syncOptions else { return }
        try options.setOption(.socketOption(.so_sndbuf), value: ClusterSettings.sendBufferSize(forReceiveBuffer: size))
        try options.setOption(.socketOption(.so_rcvbuf), value: size)
    }
}
