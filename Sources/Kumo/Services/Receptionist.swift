import KumoCore
import Logging

/// The registry's agent on every node, the system actor `kumo.registry`: it keeps this node's
/// view of which actors are registered under which keys and spreads it by push–pull gossip with
/// one random member per round (``Registry`` merges by each node's version; ``GossipEngine``
/// decides when, with whom, and whether a round carries the registry or only its digest).
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
    private let timeout: Duration
    private let log: Logger
    private var state: RegistryGossip
    private var gossip: GossipEngine
    private let clock = ContinuousClock()
    private var listings: [Int: (key: String, continuation: AsyncStream<[ActorID]>.Continuation)] = [:]
    private var nextListing = 0
    private var tasks: [Task<Void, Never>] = []
    private var stopped = false

    init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
        self.me = actorSystem.node
        self.state = RegistryGossip(me: actorSystem.node)
        self.gossip = GossipEngine(
            me: actorSystem.node, settings: .init(interval: actorSystem.settings.membership.gossipInterval), now: ContinuousClock.now)
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
        while !stopped {
            try? await Task.sleep(until: gossip.nextRound, clock: clock)
            guard !Task.isCancelled, !stopped else { return }
            await gossipRound()
        }
    }

    func stop() {
        stopped = true
        for task in tasks { task.cancel() }
        tasks = []
        for listing in listings.values { listing.continuation.finish() }
        listings = [:]
    }

    private func apply(_ event: MembershipEvent) {
        let gone = state.members.apply(event)
        let member = event.member
        if member.node != me {
            if member.status.isTerminal {
                gossip.removePeer(member.node)
            } else if let current = state.members[member.node], current.status >= .up {
                gossip.setPeer(member.node, reachable: current.reachability == .reachable)
            }
        }
        if let gone, state.registry.removeNode(gone.node) { notifyAll() }
    }

    // MARK: Gossip

    /// One push–pull exchange: the caller's view in, this node's merged view out. Only members
    /// in good standing take part.
    distributed func exchange(_ theirs: GossipEnvelope<Registry>) -> GossipEnvelope<Registry>? {
        guard let caller = ClusterSystem.currentCaller, state.members.isAlive(caller), !stopped else { return nil }
        let (answer, changed) = gossip.receive(theirs, from: caller, into: &state)
        notify(changed ?? [])
        return answer
    }

    private func gossipRound() async {
        for exchange in gossip.round(at: clock.now, state) {
            let peer = exchange.peer
            do {
                let remote = try Receptionist.resolve(id: .named(Self.actorName, on: peer), using: actorSystem)
                let envelope = exchange.envelope
                let reply = try await actorSystem.withCallTimeout(timeout) { try await remote.exchange(envelope) }
                guard !stopped else { return }
                guard let reply else {
                    gossip.exchangeFailed(with: peer)
                    continue
                }
                notify(gossip.receiveReply(reply, from: peer, into: &state) ?? [])
            } catch {
                gossip.exchangeFailed(with: peer)
                log.trace("registry gossip with \(peer) failed: \(error)")
            }
        }
    }

    // MARK: Registrations

    func register(_ actor: ActorID, key: String) {
        if state.registry.register(actor, key: key) { notify([key]) }
    }

    func unregister(_ actor: ActorID) {
        if state.registry.remove(actor) { notifyAll() }
    }

    /// The actors registered under `key` on members in good standing (this node counts).
    func lookup(_ key: String) -> [ActorID] {
        let members = state.members
        return state.registry.actors(for: key) { [me] node in node == me || members.isAlive(node) }
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
