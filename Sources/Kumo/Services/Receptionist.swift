import KumoCore
import Logging

/// The registry's agent on every node, the system actor `kumo.registry`: it keeps this node's
/// view of which actors are registered under which keys and spreads it by push–pull gossip with
/// one random member per round (``Registry`` merges by each node's version).
///
/// It follows the membership through events, dropping the entries of members that are down or
/// left, and takes in entries only for members in good standing. It runs on the node's
/// event-loop executor.
distributed actor Receptionist {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo.registry"

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    private let me: NodeID
    private let interval: Duration
    private let timeout: Duration
    private let log: Logger
    private var registry = Registry()
    private var view = MembershipView()
    private var listings: [Int: (key: String, continuation: AsyncStream<[ActorID]>.Continuation)] = [:]
    private var nextListing = 0
    private var tasks: [Task<Void, Never>] = []
    private var stopped = false

    init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
        self.me = actorSystem.node
        self.interval = actorSystem.settings.membership.gossipInterval
        self.timeout = actorSystem.settings.membership.probeTimeout * 2
        var log = actorSystem.logger
        log[metadataKey: "kumo.actor"] = "\(Self.actorName)"
        self.log = log
    }

    /// Follows the membership and starts gossiping.
    func start() async {
        tasks.append(await actorSystem.followMembership { [weak self] event in await self?.whenLocal { $0.apply(event) } })
        guard actorSystem.settings.membership.enabled else { return }
        tasks.append(Task { await self.gossipLoop() })
    }

    private func gossipLoop() async {
        while await pause() { await gossipRound() }
    }

    func stop() {
        stopped = true
        for task in tasks { task.cancel() }
        tasks = []
        for listing in listings.values { listing.continuation.finish() }
        listings = [:]
    }

    private func pause() async -> Bool {
        try? await Task.sleep(for: interval * Double.random(in: 0.8...1.2))
        return !Task.isCancelled && !stopped
    }

    private func apply(_ event: MembershipEvent) {
        guard let gone = view.apply(event) else { return }
        if registry.removeNode(gone.node) { notifyAll() }
    }

    // MARK: Gossip

    /// One push–pull exchange: the caller's view in, this node's merged view out. Only members
    /// in good standing take part.
    distributed func exchange(_ theirs: Registry) -> Registry {
        guard let caller = ClusterSystem.currentCaller, view.isAlive(caller), !stopped else { return Registry() }
        merge(theirs)
        return registry
    }

    private func gossipRound() async {
        let others = view.alive.filter { $0.node != me && $0.status >= .up }
        let reachable = others.filter { $0.reachability == .reachable }
        guard let peer = (reachable.isEmpty ? others : reachable).randomElement() else { return }
        do {
            let remote = try Receptionist.resolve(id: .named(Self.actorName, on: peer.node), using: actorSystem)
            let mine = registry
            let reply = try await actorSystem.withCallTimeout(timeout) { try await remote.exchange(mine) }
            if !stopped { merge(reply) }
        } catch {
            log.trace("registry gossip with \(peer.node) failed: \(error)")
        }
    }

    private func merge(_ theirs: Registry) {
        let changed = registry.merge(theirs) { [view, me] node in node != me && view.isAlive(node) }
        notify(changed)
    }

    // MARK: Registrations

    func register(_ actor: ActorID, key: String) {
        if registry.register(actor, key: key) { notify([key]) }
    }

    func unregister(_ actor: ActorID) {
        if registry.remove(actor) { notifyAll() }
    }

    /// The actors registered under `key` on members in good standing (this node counts).
    func lookup(_ key: String) -> [ActorID] {
        registry.actors(for: key) { [view, me] node in node == me || view.isAlive(node) }
    }

    /// A stream of the actors under `key`: the current list first, then each new list.
    func listing(_ key: String) -> AsyncStream<[ActorID]> {
        let id = nextListing
        nextListing += 1
        let (stream, continuation) = AsyncStream<[ActorID]>.makeStream(bufferingPolicy: .bufferingNewest(64))
        continuation.yield(lookup(key))
        if stopped {
            continuation.finish()
            return stream
        }
        listings[id] = (key, continuation)
        continuation.onTermination = { [weak self] _ in Task { await self?.whenLocal { $0.removeListing(id) } } }
        return stream
    }

    private func removeListing(_ id: Int) {
        listings.removeValue(forKey: id)
    }

    private func notify(_ keys: Set<String>) {
        guard !keys.isEmpty else { return }
        for listing in listings.values where keys.contains(listing.key) {
            listing.continuation.yield(lookup(listing.key))
        }
    }

    private func notifyAll() {
        for listing in listings.values { listing.continuation.yield(lookup(listing.key)) }
    }
}
