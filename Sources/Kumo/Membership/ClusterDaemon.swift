import KumoCore
import Logging

/// The membership agent of a node: a system actor, well known as `kumo.cluster` on every node.
///
/// It does membership, failure detection and downing only: it keeps this node's view of the
/// members, gossips it (push–pull with one random member per round), probes members SWIM-style
/// (direct probe, then indirect probes through other members), and downs members unreachable past
/// the downing timeout (``Downing``). The services built on membership — the registry, watches,
/// remote spawn, the cluster log — are system actors of their own that follow its events
/// (``ClusterServices``). It runs on the node's event-loop executor: its work is small and it
/// never blocks.
distributed actor ClusterDaemon {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo.cluster"

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    let settings: MembershipSettings
    let me: NodeID
    let myName: String
    /// This node's role, as it announces it.
    let role: NodeRole
    let log: Logger

    var membership = Membership()
    /// When and with whom to gossip the membership.
    var gossip: GossipEngine
    /// The downing strategy's state: who is unreachable since when.
    var downing: Downing
    /// Why this node is about to go down, when it knows better than "the cluster said so".
    var downReason: String?
    var terminalSince: [NodeID: ContinuousClock.Instant] = [:]
    /// Members forgotten after being down or removed, remembered (by identity only) for ten times
    /// `forgetAfter` so that no stale gossip or join can bring them back.
    var forgotten: [NodeID: ContinuousClock.Instant] = [:]
    var discovery = Discovery.none
    var multicast: MulticastDiscovery?
    var failedJoins = 0
    /// When a node left alone may next ask a downed member where it stands, and the pause after
    /// that (doubling while the asks tell it nothing, up to ``maximumAskInterval``).
    var nextAskAt: ContinuousClock.Instant?
    var askInterval: Duration = .zero
    var loops: [Task<Void, Never>] = []
    var probeOrder = ProbeOrder()
    var stopped = false

    var eventSubscribers: [Int: AsyncStream<MembershipEvent>.Continuation] = [:]
    var nextSubscriber = 0

    /// Membership messages this node sent (probes, gossip, joins), for the scale benchmark.
    var messagesSent: UInt64 = 0

    let clock = ContinuousClock()

    init(actorSystem: ClusterSystem, settings: MembershipSettings) {
        self.actorSystem = actorSystem
        self.settings = settings
        self.me = actorSystem.node
        self.myName = actorSystem.settings.name
        self.role = actorSystem.settings.role
        self.downing = Downing(strategy: settings.downing, me: actorSystem.node)
        self.gossip = GossipEngine(me: actorSystem.node, settings: .init(interval: settings.gossipInterval), now: ContinuousClock.now)
        var log = actorSystem.logger
        log[metadataKey: "kumo.actor"] = "kumo.cluster"
        self.log = log
    }

    /// The current view, for `kumo status` and other nodes.
    distributed func members() -> [Member] {
        membership.sorted
    }

    /// This node's own member record.
    var myself: Member? { membership[me] }

    /// Starts gossip and probing. With nothing to discover the node forms a cluster of one and is
    /// up at once; otherwise it is joining, and makes its first attempt to join before this
    /// returns (the node's start fails when every seed that answered is down itself).
    func start(discovery: Discovery, multicast: MulticastDiscovery?) async -> JoinOutcome {
        self.discovery = discovery
        self.multicast = multicast
        apply(membership.update(discovery.isEmpty ? ownRecord(.up, upNumber: 1) : ownRecord(.joining)))
        guard settings.enabled else { return .unanswered }
        let outcome = discovery.isEmpty ? JoinOutcome.joined : await joinThroughSeeds()
        if case .seedsDown = outcome, myself?.status == .joining { return outcome }
        loops.append(Task { await self.gossipLoop() })
        loops.append(Task { await self.probeLoop() })
        return outcome
    }

    private func gossipLoop() async {
        while !stopped {
            try? await Task.sleep(until: gossip.nextRound, clock: clock)
            guard !Task.isCancelled, !stopped else { return }
            await gossipRound()
        }
    }

    private func probeLoop() async {
        while await pause(settings.probeInterval) {
            await probeRound()
            await downUnreachable()
            forgetOldMembers()
        }
    }

    /// Sleeps about `interval` (±20 %, so nodes started together drift apart); false once stopped.
    /// A sleep that ends far too late means this node itself was held up: the downing clocks
    /// start again (``Downing/pausedLocally(at:)``).
    private func pause(_ interval: Duration) async -> Bool {
        let requested = interval * Double.random(in: 0.8...1.2)
        let start = clock.now
        try? await Task.sleep(for: requested)
        let actual = clock.now - start
        if Downing.isLocalPause(requested: requested, actual: actual, probeInterval: settings.probeInterval), !downing.unreachableSince.isEmpty {
            log.notice("this node was held up for \(actual - requested); the unreachable members' downing clocks start again")
            downing.pausedLocally(at: clock.now)
        }
        return !Task.isCancelled && !stopped
    }

    /// Stops all periodic work and ends every subscription.
    func stop() {
        stopped = true
        for loop in loops { loop.cancel() }
        loops = []
        if let multicast { Task { await multicast.stop() } }
        for subscriber in eventSubscribers.values { subscriber.finish() }
        eventSubscribers = [:]
    }

    /// Applies membership changes: events, reachability bookkeeping, registry cleanup, watches.
    func apply(_ changes: [Membership.Change]) {
        if !changes.isEmpty { actorSystem.metrics.recordMembers(membership) }
        for change in changes {
            let member = change.member
            if member.node != me {
                if change.previous == nil, !member.status.isTerminal {
                    var random = SystemRandomNumberGenerator()
                    probeOrder.insert(member.node, using: &random)
                }
                if member.status.isTerminal {
                    gossip.removePeer(member.node)
                } else {
                    gossip.setPeer(member.node, reachable: member.reachability == .reachable)
                }
            }
            publish(.statusChanged(member, previous: change.previous))
            if member.status.isTerminal {
                terminalSince[member.node] = clock.now
                downing.forget(member.node)
                if member.node == me, member.status == .down {
                    log.error("this node was declared down by the cluster; it must restart to rejoin as a new incarnation")
                }
            }
            if member.node == me {
                let reason = member.status == .down ? (downReason ?? "the cluster declared this node down") : nil
                actorSystem.lifecycleAdvanced(to: NodeLifecycleEvent(status: member.status, reason: reason))
                if member.status == .down { stop() }
            }
            if member.node != me, change.previous == nil || change.previous == .joining, member.status == .up {
                log.debug("member up", metadata: ["kumo.member": "\(member.name) \(member.node)"])
            }
        }
    }

    func publish(_ event: MembershipEvent) {
        for subscriber in eventSubscribers.values { subscriber.yield(event) }
    }

    /// A stream of membership events, starting with every current member.
    func subscribe() -> AsyncStream<MembershipEvent> {
        let id = nextSubscriber
        nextSubscriber += 1
        let (stream, continuation) = AsyncStream<MembershipEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        for member in membership.sorted { continuation.yield(.statusChanged(member, previous: nil)) }
        if stopped {
            continuation.finish()
            return stream
        }
        eventSubscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: Int) {
        eventSubscribers.removeValue(forKey: id)
    }

    /// Whether `node` is a member in good standing here.
    func isAlive(_ node: NodeID) -> Bool {
        membership[node].map { !$0.status.isTerminal } ?? false
    }

    /// The daemon of another node.
    func daemon(on node: NodeID) throws -> ClusterDaemon {
        try ClusterDaemon.resolve(id: .named(Self.actorName, on: node), using: actorSystem)
    }
}
