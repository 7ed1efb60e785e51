import Distributed
import KumoCore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A node of a Kumo cluster: a `DistributedActorSystem` whose remote calls travel over SwiftNIO
/// TCP in Kumo's binary wire format.
///
/// ```swift
/// let system = try await ClusterSystem(settings: ClusterSettings(name: "a", secret: "s3cret"))
/// let greeter = try system.withActorName("greeter") { Greeter(actorSystem: system) }
/// // on another node:
/// let peer = try await other.connect(to: system.node.address)
/// let remote = try Greeter.resolve(id: .named("greeter", on: peer), using: other)
/// let text = try await remote.greet("Ada")
/// ```
///
/// Each system listens on one port and runs all its connections on one event loop, whose
/// ``executor`` actors may adopt to handle remote calls without a thread hop. One connection
/// serves each pair of nodes, in both directions; it is opened on first use and again after a drop.
/// Call ``shutdown()`` when done, or run the system as a `Service`.
public final class ClusterSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = KumoCore.ActorID
    public typealias InvocationEncoder = KumoInvocationEncoder
    public typealias InvocationDecoder = KumoInvocationDecoder
    public typealias ResultHandler = KumoResultHandler
    public typealias SerializationRequirement = any Codable

    /// The settings the system runs with.
    public let settings: ClusterSettings
    /// This node's identity: the address it listens on and its incarnation.
    public let node: NodeID
    /// The executor of the system's event loop (see ``EventLoopExecutor``).
    public let executor: EventLoopExecutor
    /// The system's logger, with `kumo.node` metadata.
    public let logger: Logger

    let eventLoop: any EventLoop
    let actors = Mutex(ActorTable())
    let peers = Mutex(PeerTable())
    let ports = PortTable()
    /// Keeps the loop polling briefly after I/O.
    let poller: BusyPoller
    /// Large byte arrays received whole, kept so the next large message reuses their memory once
    /// its receiver let go of them.
    let receivedArrays = ByteArrayCache()
    private let serverChannel: any Channel
    private let daemonBox = Mutex<ClusterDaemon?>(nil)
    /// A decoder whose `userInfo` carries this system, made once at the end of `init`.
    let decoderBox = Mutex(BinaryDecoder())
    let lifecycle = Mutex(Lifecycle())
    let spawnFactories = Mutex<[String: @Sendable (ClusterSystem) -> (ActorID, any DistributedActor)]>([:])
    /// The system actors of the node and its plugins, kept alive until shutdown.
    let systemActors = Mutex<[String: any DistributedActor]>([:])
    /// The node's metrics, made through the metrics factory current when it started.
    let metrics: ClusterMetrics

    struct Lifecycle: Sendable {
        /// Local actors someone watches or registered: their deinit must be reported.
        var interesting: Set<ActorID.Path> = []
        var shutDown = false
        var node = NodeLifecycle()
        /// The plugins that started, in the order of installation.
        var plugins: [any ClusterPlugin] = []
        /// Whether the plugins were told the node leaves.
        var pluginsLeaving = false
    }

    /// The node's membership agent.
    var daemon: ClusterDaemon? { daemonBox.withLock { $0 } }

    /// Starts a node: binds its listening socket and returns once it accepts connections.
    /// - Throws: ``ClusterError`` with code `invalidConfiguration` for unusable settings, or the
    ///   bind error.
    public init(settings: ClusterSettings) async throws {
        try settings.validate()
        self.metrics = ClusterMetrics(settings: settings.metrics, node: settings.name)
        let group = settings.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        self.eventLoop = loop
        self.executor = EventLoopExecutor(eventLoop: loop)
        self.poller = BusyPoller(eventLoop: loop, window: settings.busyPollWindow)
        let incarnation = NodeID.randomIncarnation()
        let box = ServerBootstrapBox()
        let server = try await ServerBootstrap(group: loop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
            .childChannelInitializer { channel in
                guard let system = box.system else {
                    return channel.eventLoop.makeFailedFuture(ClusterError(.shuttingDown, "node is not running"))
                }
                return channel.eventLoop.makeCompletedFuture {
                    try system.configureSocket(of: channel)
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(system: system, role: .acceptor))
                }
            }
            .bind(host: settings.host, port: settings.port)
            .get()
        let port = server.localAddress?.port ?? settings.port
        self.serverChannel = server
        self.settings = settings
        self.node = NodeID(address: NodeAddress(host: settings.advertisedHost ?? settings.host, port: port), incarnation: incarnation)
        var logger = settings.logger
        logger[metadataKey: "kumo.node"] = "\(settings.name)@\(node.address)"
        self.logger = logger
        box.system = self
        var decoder = BinaryDecoder()
        decoder.userInfo[.actorSystemKey] = self
        decoderBox.withLock { $0 = decoder }
        logger.debug("node listening", metadata: ["kumo.incarnation": "\(String(incarnation, radix: 16))"])
        // The first actor of the node: its name cannot be taken.
        let daemon = try hostSystemActor(named: ClusterDaemon.actorName) {
            ClusterDaemon(actorSystem: self, settings: settings.membership)
        }
        daemonBox.withLock { $0 = daemon }
        let discovery = Discovery.seeds(settings.seeds.filter { $0 != node.address }).and(settings.discovery)
        var multicast: MulticastDiscovery?
        if settings.membership.enabled, let configuration = settings.discovery.multicastConfiguration {
            multicast = try await MulticastDiscovery(
                configuration: configuration, node: node.address, secret: settings.secret, eventLoop: loop, logger: logger)
        }
        let outcome = await withDaemon { [multicast] in await $0.start(discovery: discovery, multicast: multicast) }
        if case .seedsDown(let refusals)? = outcome {
            await shutdown()
            throw ClusterError(
                .seedDown,
                "node \(settings.name) cannot join: every seed that answered is down itself (\(refusals.joined(separator: "; ")))",
                node: node)
        }
        try await startPlugins()
        Self.running.withLock { $0[ObjectIdentifier(self)] = self }
    }

    /// The nodes running in this process, from a successful start to `shutdown()`. Held strongly
    /// on purpose: a weak reference would give every `ClusterSystem` a side table, and every
    /// retain and release of it (several per message sent) would take the runtime's slow path.
    private static let running = Mutex<[ObjectIdentifier: ClusterSystem]>([:])

    /// The node running in this process, when there is exactly one (a program that is one
    /// node, as `NodeProgram`'s are): for add-ons that need "the cluster" without being handed
    /// it. `nil` when none runs, or several do (then they must be named).
    public static var sole: ClusterSystem? {
        running.withLock { running in
            running.count == 1 ? running.values.first : nil
        }
    }

    /// Shuts the node down: says goodbye to every peer, fails calls in flight with
    /// ``ClusterError/Code/shuttingDown``, and closes every connection and the listening socket.
    /// Calling it again does nothing.
    public func shutdown() async {
        let first = lifecycle.withLock { state -> Bool in
            defer { state.shutDown = true }
            return !state.shutDown
        }
        if first {
            _ = Self.running.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
            await leave()
            _ = await withDaemon { $0.stop() }
            await stopPlugins()
            for subscriber in lifecycle.withLock({ $0.node.finish() }) { subscriber.finish() }
        }
        let (connections, channels, waiting): ([Connection], [any Channel], [EventLoopPromise<Connection>]) =
            peers.withLock { table in
                guard !table.shuttingDown else { return ([], [], []) }
                table.shuttingDown = true
                var connections: [Connection] = []
                var waiting: [EventLoopPromise<Connection>] = []
                for slot in table.slots.values {
                    switch slot {
                    case .connected(let connection): connections.append(connection)
                    case .connecting(let promise): waiting.append(promise)
                    case .failed: break
                    }
                }
                table.slots = [:]
                let channels = Array(table.channels.values)
                return (connections, channels, waiting)
            }
        let error = ClusterError(.shuttingDown, "node \(settings.name) is shutting down", node: node)
        for promise in waiting { promise.fail(error) }
        for connection in connections {
            var goodbye = ByteBuffer()
            let start = goodbye.beginFrame(.goodbye)
            goodbye.writeWireString("shutdown")
            goodbye.endFrame(startedAt: start)
            try? connection.outbox.enqueue(goodbye)
        }
        try? await serverChannel.close()
        // Let the goodbyes go out with the last flush, then close.
        try? await eventLoop.scheduleTask(in: .milliseconds(5)) {}.futureResult.get()
        for connection in connections { connection.fail(error) }
        for channel in channels + connections.map(\.channel) {
            try? await channel.close()
        }
        ports.closeAll()
        systemActors.withLock { $0 = [:] }
        logger.debug("node shut down")
    }

    // MARK: - Actor identities

    /// Creates the actor made inside `body` under the well-known `name`, so that other nodes can
    /// address it as `ActorID.named(name, on: node)` without a lookup. The name is free again once
    /// the actor is deinitialized.
    /// - Throws: ``ClusterError`` with code `nameTaken` when a live actor of this node has the name
    ///   already, or the name is reserved (names beginning with `kumo.` belong to system actors:
    ///   ``hostSystemActor(named:_:)``); otherwise whatever `body` throws.
    public func withActorName<Act: DistributedActor>(_ name: String, _ body: () throws -> Act) throws -> Act
    where Act.ID == ActorID {
        guard !name.hasPrefix(Self.systemActorPrefix) else {
            throw ClusterError(
                .nameTaken, "'\(name)' is reserved: names beginning with '\(Self.systemActorPrefix)' belong to system actors",
                node: node)
        }
        return try named(name, body)
    }

    /// Names beginning with this belong to the system actors of the node and its plugins.
    public static let systemActorPrefix = "kumo."

    /// Creates a system actor under the reserved well-known `name` (it must begin with `kumo.`),
    /// which the node keeps alive until it has shut down. Plugins host their per-node parts this
    /// way; other nodes address them as `ActorID.named(name, on: node)`.
    /// - Throws: ``ClusterError`` with code `nameTaken` when the name is taken (a plugin installed
    ///   twice, or two plugins that chose one name), or `invalidConfiguration` when it does not
    ///   begin with `kumo.`; otherwise whatever `body` throws.
    @discardableResult
    public func hostSystemActor<Act: DistributedActor>(named name: String, _ body: () throws -> Act) throws -> Act
    where Act.ID == ActorID {
        guard name.hasPrefix(Self.systemActorPrefix), name.count > Self.systemActorPrefix.count else {
            throw ClusterError(
                .invalidConfiguration, "system actor names begin with '\(Self.systemActorPrefix)'; '\(name)' does not", node: node)
        }
        let actor = try named(name, body)
        systemActors.withLock { $0[name] = actor }
        return actor
    }

    /// The system actor this node hosts under `name`, if it is an `Act`.
    public func systemActor<Act: DistributedActor>(named name: String, as type: Act.Type = Act.self) -> Act? {
        systemActors.withLock { $0[name] } as? Act
    }

    /// Runs `body` with `name` reserved for the first actor it creates.
    private func named<Act: DistributedActor>(_ name: String, _ body: () throws -> Act) throws -> Act
    where Act.ID == ActorID {
        let reservation = NameReservation(name)
        let free = actors.withLock { table in
            guard table.entries[.name(name)]?.actor == nil, !table.reserved.contains(name) else { return false }
            table.reserved.insert(name)
            return true
        }
        guard free else {
            throw ClusterError(.nameTaken, "an actor named '\(name)' already lives on node \(settings.name)", node: node)
        }
        defer { actors.withLock { _ = $0.reserved.remove(name) } }
        let actor = try Self.$pendingActorName.withValue(reservation) { try body() }
        guard actor.id.path.name == name else {
            throw ClusterError(
                .nameTaken, "the actor made for the name '\(name)' is \(type(of: actor)) \(actor.id), not the named one",
                node: node)
        }
        return actor
    }

    /// A well-known name waiting for the actor that takes it: the first actor created inside
    /// ``withActorName(_:_:)``'s body, not the actors that one may create in turn.
    final class NameReservation: Sendable {
        let name: String
        private let taken = Mutex(false)
        init(_ name: String) { self.name = name }
        /// The name, the first time only.
        func take() -> String? {
            taken.withLock { taken in
                defer { taken = true }
                return taken ? nil : name
            }
        }
    }

    @TaskLocal static var pendingActorName: NameReservation?

    public func assignID<Act>(_ actorType: Act.Type) -> ActorID where Act: DistributedActor, ActorID == Act.ID {
        let name = Self.pendingActorName?.take()
        let path: ActorID.Path = actors.withLock { table in
            if let name {
                table.entries[.name(name)] = ActorTable.Entry(actor: nil)
                return .name(name)
            }
            let number = table.nextNumber
            table.nextNumber += 1
            return .number(number)
        }
        return ActorID(node: node, path: path)
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, ActorID == Act.ID {
        actors.withLock { $0.entries[actor.id.path] = ActorTable.Entry(actor: actor) }
    }

    public func resignID(_ id: ActorID) {
        actors.withLock { _ = $0.entries.removeValue(forKey: id.path) }
        let interesting = lifecycle.withLock { $0.interesting.remove(id.path) != nil }
        if interesting {
            Task {
                await self.deathWatch?.whenLocal { await $0.actorResigned(id) }
                await self.receptionist?.whenLocal { $0.unregister(id) }
            }
        }
    }

    func noteInteresting(_ path: ActorID.Path) {
        lifecycle.withLock { _ = $0.interesting.insert(path) }
    }

    /// This node's status moved: tell the subscribers of ``lifecycleEvents()``.
    func lifecycleAdvanced(to event: NodeLifecycleEvent) {
        let subscribers = lifecycle.withLock { $0.node.advance(to: event) }
        for subscriber in subscribers { subscriber.yield(event) }
        if event.status.isTerminal {
            for subscriber in subscribers { subscriber.finish() }
        }
    }

    /// Whether the cluster declared this node down. A downed node takes no further part in
    /// membership; restart it to rejoin as a new incarnation.
    public var isDowned: Bool { lifecycle.withLock { $0.node.current?.status == .down } }

    /// This node's own lifecycle: its current status first, then each change — `joining`, `up`,
    /// `leaving`, `removed` (a graceful leave) or `down` (with the reason). The stream ends after
    /// `down` or `removed`, or when the node shuts down.
    public func lifecycleEvents() -> AsyncStream<NodeLifecycleEvent> {
        let (stream, continuation) = AsyncStream<NodeLifecycleEvent>.makeStream(bufferingPolicy: .bufferingNewest(16))
        if let id = lifecycle.withLock({ $0.node.subscribe(continuation) }) {
            // Strong, not weak (a weak reference gives the system a side table, which slows every
            // retain of it): the stream ends at the latest when the node shuts down, and that
            // releases this closure.
            continuation.onTermination = { _ in
                self.lifecycle.withLock { $0.node.unsubscribe(id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }

    public func resolve<Act>(id: ActorID, as actorType: Act.Type) throws -> Act?
    where Act: DistributedActor, ActorID == Act.ID {
        guard id.node.address == node.address else { return nil }
        guard id.node.incarnation == node.incarnation else {
            throw ClusterError(.nodeGone, "actor \(id) belongs to an earlier incarnation of this node", node: node)
        }
        guard let actor = localActor(id.path) else {
            throw ClusterError(.unknownActor, "no actor \(id.path) on node \(settings.name)", node: node)
        }
        guard let typed = actor as? Act else {
            throw ClusterError(.unknownActor, "actor \(id.path) is a \(type(of: actor)), not a \(Act.self)", node: node)
        }
        return typed
    }

    func localActor(_ path: ActorID.Path) -> (any DistributedActor)? {
        actors.withLock { $0.entries[path]?.actor }
    }

    // MARK: - Deadlines

    /// What a task knows about the remote call it serves, or the calls it makes.
    struct CallContext: Sendable {
        /// When the calls made by this task must be answered.
        var deadline: NIODeadline?
        /// The authenticated node whose call this task runs, if it runs one.
        var caller: NodeID?
        /// The metadata the calls made by this task carry: the metadata of the call it runs,
        /// with what ``ClusterSystem/withCallMetadata(_:_:_:)`` set on top.
        var metadata = CallMetadata()
    }

    @TaskLocal static var callContext = CallContext()

    static var callDeadline: NIODeadline? { callContext.deadline }

    /// The node whose remote call the current task is running, authenticated by the handshake;
    /// `nil` outside a remote call.
    public static var currentCaller: NodeID? { callContext.caller }

    /// The metadata that remote calls made by the current task carry: what the call this task
    /// serves came with, plus what ``withCallMetadata(_:_:_:)`` set around it.
    public static var callMetadata: CallMetadata { callContext.metadata }

    /// Runs `body` with `key` set to `value` in the metadata of every remote call made inside it
    /// (and of the calls those calls make in turn, on whatever node).
    /// - Throws: ``ClusterError`` (`invalidConfiguration`) when the entry breaks a bound of
    ///   ``CallMetadata``; otherwise whatever `body` throws.
    public func withCallMetadata<T>(_ key: String, _ value: [UInt8], _ body: () async throws -> T) async throws -> T {
        var context = Self.callContext
        do {
            try context.metadata.set(key, to: value)
        } catch {
            throw ClusterError(.invalidConfiguration, error.message, node: node)
        }
        return try await Self.$callContext.withValue(context) { try await body() }
    }

    /// Runs `body` with `key` set to the UTF-8 bytes of `value` in the metadata of every remote
    /// call made inside it (see ``withCallMetadata(_:_:_:)-([UInt8])``).
    public func withCallMetadata<T>(_ key: String, _ value: String, _ body: () async throws -> T) async throws -> T {
        try await withCallMetadata(key, Array(value.utf8), body)
    }

    /// Runs `body` as if no remote call were being served: the calls it makes get deadlines of
    /// their own (``ClusterSettings/callTimeout``), no caller and no inherited metadata.
    ///
    /// A task created inside a remote call (`Task { … }`) inherits that call's deadline, which
    /// is right for work the call waits for and wrong for work that outlives it: an outbox, a
    /// batcher, a background loop would see every call it makes fail once the first call's
    /// deadline has passed. Such work runs its body in `withoutCallContext`.
    public static func withoutCallContext<T>(_ body: () async throws -> T) async rethrows -> T {
        let context = callContext
        if context.deadline == nil, context.caller == nil, context.metadata.isEmpty { return try await body() }
        return try await $callContext.withValue(CallContext()) { try await body() }
    }

    /// Runs `body` with remote calls limited to `timeout` (or less, when an enclosing deadline is
    /// sooner). Deadlines travel with calls: a remote actor's own calls share the caller's.
    public func withCallTimeout<T>(_ timeout: Duration, _ body: () async throws -> T) async rethrows -> T {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        var context = Self.callContext
        context.deadline = context.deadline.map { min($0, deadline) } ?? deadline
        return try await Self.$callContext.withValue(context) { try await body() }
    }
}

/// Holds the system for the server bootstrap's initializer, which is created before the system
/// exists. Written once in `init` before any connection can be accepted (the initializer checks
/// for `nil`), then only read; the lock makes that visible across threads.
private final class ServerBootstrapBox: Sendable {
    private let storage = Mutex<ClusterSystem?>(nil)
    var system: ClusterSystem? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// The actors that live on this node, held weakly.
struct ActorTable: Sendable {
    struct Entry: Sendable {
        weak var actor: (any DistributedActor)?
    }
    var nextNumber: UInt64 = 1
    var entries: [ActorID.Path: Entry] = [:]
    /// Well-known names held for an actor being created.
    var reserved: Set<String> = []
}

extension ClusterSystem {
    /// Stops the node the way a crash would, for tests: connections and the listening socket close
    /// at once, with no goodbye and no graceful leave; peers must detect the failure.
    public func simulateCrash() async {
        let subscribers = lifecycle.withLock { state in
            state.shutDown = true
            return state.node.finish()
        }
        for subscriber in subscribers { subscriber.finish() }
        _ = await withDaemon { $0.stop() }
        let channels: [any Channel] = peers.withLock { table in
            table.shuttingDown = true
            var channels = Array(table.channels.values)
            for slot in table.slots.values {
                if case .connected(let connection) = slot { channels.append(connection.channel) }
            }
            table.slots = [:]
            return channels
        }
        try? await serverChannel.close()
        for channel in channels { try? await channel.close() }
        ports.closeAll()
    }
}
