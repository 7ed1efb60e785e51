import KumoCore

extension ClusterSystem {
    /// Runs `body` on the node's membership agent; `nil` once the node has shut down.
    func withDaemon<T: Sendable>(_ body: @Sendable (isolated ClusterDaemon) async throws -> T) async rethrows -> T? {
        guard let daemon else { return nil }
        return try await daemon.whenLocal { try await body($0) }
    }

    private func notRunning() -> ClusterError {
        ClusterError(.shuttingDown, "node \(settings.name) is not running", node: node)
    }

    // MARK: Membership

    /// This node's view of the cluster's members, ordered by address.
    public func members() async -> [Member] {
        await withDaemon { $0.membership.sorted } ?? []
    }

    /// The membership as the node at `address` sees it (what `kumo status` prints).
    /// - Throws: ``ClusterError`` when the node cannot be reached or refuses the handshake.
    public func members(of address: NodeAddress) async throws -> [Member] {
        let peer = try await connect(to: address)
        let remote = try ClusterDaemon.resolve(id: .named(ClusterDaemon.actorName, on: peer), using: self)
        return try await remote.members()
    }

    /// Membership events as this node observes them: first one event per current member, then
    /// every change. The stream buffers the newest 4096 events for a slow consumer.
    public func membershipEvents() async -> AsyncStream<MembershipEvent> {
        await withDaemon { $0.subscribe() } ?? AsyncStream { $0.finish() }
    }

    /// How many membership messages (probes, gossip, joins) this node has sent; for measuring
    /// the protocol's overhead.
    public func membershipMessagesSent() async -> UInt64 {
        await withDaemon { $0.messagesSent } ?? 0
    }

    /// Leaves the cluster gracefully (leaving, then removed) without shutting the node down,
    /// after telling the plugins (``ClusterPlugin/willLeave(_:)``). ``shutdown()`` does this first.
    public func leave() async {
        await pluginsWillLeave()
        _ = await withDaemon { await $0.leave() }
    }

    /// Declares `node` down (for the manual downing strategy, or an operator).
    public func down(_ node: NodeID) async {
        _ = await withDaemon { $0.down(node) }
    }

    /// Waits until this node sees `count` members, all up, or throws after `timeout`.
    public func waitForMembers(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if await withDaemon({ $0.membership.allUp(count: count) }) == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let view = await members().map(\.description).joined(separator: "; ")
        throw ClusterError(.timeout, "\(settings.name) does not see \(count) members up within \(timeout): \(view)", node: node)
    }

    // MARK: Registry

    /// Registers a local actor under `key`; every node can then find it with ``lookup(_:)``. The
    /// entry disappears everywhere when the actor is deinitialized or its node is down or leaves.
    public func register<Act: DistributedActor>(_ actor: Act, as key: String) async throws where Act.ID == ActorID {
        guard actor.id.node == node else {
            throw ClusterError(.unknownActor, "only local actors can be registered; \(actor.id) lives on another node", node: node)
        }
        noteInteresting(actor.id.path)
        let id = actor.id
        guard await withDaemon({ $0.register(id, key: key) }) != nil else { throw notRunning() }
    }

    /// The actors registered under `key` on any live member (`whereis`).
    public func lookup(_ key: String) async -> [ActorID] {
        await withDaemon { $0.lookup(key) } ?? []
    }

    /// The actors of type `Act` registered under `key`, resolved for calling.
    public func lookup<Act: DistributedActor>(_ type: Act.Type, _ key: String) async throws -> [Act]
    where Act.ActorSystem == ClusterSystem {
        try await lookup(key).map { try Act.resolve(id: $0, using: self) }
    }

    /// The actors under `key`, as a stream: the current list, then each new list when it changes.
    public func listing(_ key: String) async -> AsyncStream<[ActorID]> {
        await withDaemon { $0.listing(key) } ?? AsyncStream { $0.finish() }
    }

    // MARK: Lifecycle watch

    /// Watches an actor anywhere in the cluster: the handle's `reason` arrives exactly once, when
    /// the actor stops, or its node is down or leaves.
    public func watch<Act: DistributedActor>(_ actor: Act) async -> WatchHandle where Act.ID == ActorID {
        await watch(actor.id)
    }

    /// Watches the actor with identity `id`.
    public func watch(_ id: ActorID) async -> WatchHandle {
        let handle = WatchHandle { handle in Task { _ = await self.withDaemon { $0.cancel(handle) } } }
        if await withDaemon({ await $0.watch(id, handle: handle) }) == nil { handle.fire(.nodeDown(node)) }
        return handle
    }

    /// Watches a node: the handle's `reason` arrives exactly once, when it is down or leaves.
    public func watch(node watched: NodeID) async -> WatchHandle {
        let handle = WatchHandle { handle in Task { _ = await self.withDaemon { $0.cancel(handle) } } }
        if await withDaemon({ $0.watch(node: watched, handle: handle) }) == nil { handle.fire(.nodeDown(watched)) }
        return handle
    }

    // MARK: Remote spawn

    /// Lets other nodes create actors of type `Act` on this node with ``spawn(_:on:)``.
    public func registerSpawnable<Act: DistributedActor>(
        _ type: Act.Type, factory: @escaping @Sendable (ClusterSystem) -> Act
    ) where Act.ID == ActorID {
        spawnFactories.withLock {
            $0[String(reflecting: type)] = { system in
                let actor = factory(system)
                return (actor.id, actor)
            }
        }
    }

    func spawnFactory(_ typeName: String) -> (@Sendable (ClusterSystem) -> (ActorID, any DistributedActor))? {
        spawnFactories.withLock { $0[typeName] }
    }

    /// Creates an actor of type `Act` on `target` (which must have registered the type with
    /// ``registerSpawnable(_:factory:)``) and returns a reference to it. The actor lives until its
    /// node shuts down or ``release(_:)`` lets it go.
    /// - Throws: ``ClusterError`` with code `unknownType`, naming the type and the node, when the
    ///   node has not registered the type.
    public func spawn<Act: DistributedActor>(_ type: Act.Type, on target: NodeID) async throws -> Act
    where Act.ActorSystem == ClusterSystem {
        let name = String(reflecting: type)
        if target == node {
            guard let factory = spawnFactory(name), case let (id, made) = factory(self), let actor = made as? Act else {
                throw ClusterError(.unknownType, "\(name) is not registered for remote spawn on node \(settings.name) \(node)", node: node)
            }
            _ = await withDaemon { $0.keep(actor, at: id.path) }
            return actor
        }
        let remote = try ClusterDaemon.resolve(id: .named(ClusterDaemon.actorName, on: target), using: self)
        let id = try await remote.spawn(name)
        return try Act.resolve(id: id, using: self)
    }

    /// Lets a spawned actor on this node go: it is deinitialized once nothing else holds it.
    public func release<Act: DistributedActor>(_ actor: Act) async where Act.ID == ActorID {
        let path = actor.id.path
        _ = await withDaemon { $0.release(path) }
    }

    // MARK: Cluster log

    /// Sends a line to the cluster log collector, tagged with this node and, if given, the actor
    /// that says it. The collector writes it through its logger. Lines from one sender arrive in order.
    public func say(_ text: String, from actor: ActorID? = nil) async throws {
        let preferred = settings.logCollector
        guard let port = try await withDaemon({ try await $0.collectorPort(preferred: preferred) }) else {
            throw notRunning()
        }
        try await port.send(LogLine(
            text: text, node: node, nodeName: settings.name, actor: actor, timestamp: Self.wallClockMillis()))
    }

    static func wallClockMillis() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(0, now.tv_sec)) * 1000 + UInt64(max(0, now.tv_nsec)) / 1_000_000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
