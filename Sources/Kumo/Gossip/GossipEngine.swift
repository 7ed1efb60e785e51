/// The logic of gossip, as a value: when the next round is due, whom it goes to, whether the
/// peer needs the whole state or only a digest, and what an exchange leaves agreed.
///
/// It does no I/O and reads no clock: the shell around it (the membership agent, the registry,
/// the replicator) passes the time in, carries out the exchanges a round returns, and hands
/// back what comes of them. The same logic therefore runs in simulation with virtual time and
/// an in-memory transport (``MembershipSimulation``).
///
/// A round goes to ``Settings/fanout`` peers chosen at random: reachable ones, except that one
/// round in ``Settings/unreachableEvery`` may go to an unreachable one, so that a healed
/// partition merges. An exchange is push–pull: the initiator sends its digest and its state, the
/// peer merges and answers with its own (or only its digest, when the two now agree). Gossip
/// stops carrying state once a node's state is confirmed: when an exchange ends with equal
/// digests, the node remembers that digest, and while its state stays the same its rounds carry
/// the digest alone. A peer whose state differs answers a bare digest with its whole state, and
/// a node whose state changed sends it whole again, so news still spreads. A quiet cluster thus
/// sends small messages, and each node starts ``Settings/fanout`` exchanges per round whatever
/// the cluster's size.
public struct GossipEngine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// How rounds are made.
    public struct Settings: Sendable, Hashable {
        /// The time between rounds.
        public var interval: Duration
        /// How far each pause may stray from `interval`, as a fraction (nodes started together
        /// drift apart instead of gossiping in lockstep).
        public var jitter: Double = 0.2
        /// How many peers each round goes to.
        public var fanout: Int = 1
        /// One round in this many may go to an unreachable peer (0: never).
        public var unreachableEvery: Int = 10

        /// Rounds every `interval`.
        public init(interval: Duration) {
            self.interval = interval
        }
    }

    /// This node.
    public let me: NodeID
    /// How rounds are made.
    public var settings: Settings
    /// When the next round is due.
    public private(set) var nextRound: Instant
    /// How many exchanges this node started.
    public private(set) var exchangesStarted: UInt64 = 0

    private var reachable = NodeSet()
    private var unreachable = NodeSet()
    /// The digest both sides had when an exchange with each peer last ended in agreement.
    private var agreed: [NodeID: UInt64] = [:]
    /// The digest of the last exchange with any peer that ended in agreement.
    private var confirmed: UInt64?
    private var random: SplitMix64

    /// An engine whose first round is due one pause after `now`; `seed` makes its choices
    /// reproducible (a random one by default).
    public init(me: NodeID, settings: Settings, now: Instant, seed: UInt64? = nil) {
        self.me = me
        self.settings = settings
        self.random = seed.map { SplitMix64(seed: $0) } ?? SplitMix64()
        self.nextRound = now
        self.nextRound = now + pause()
    }

    // MARK: Peers

    /// Adds `node` as a peer, or updates its reachability.
    public mutating func setPeer(_ node: NodeID, reachable isReachable: Bool) {
        guard node != me else { return }
        if isReachable {
            unreachable.remove(node)
            reachable.insert(node)
        } else {
            reachable.remove(node)
            unreachable.insert(node)
        }
    }

    /// Forgets `node`: it is gone.
    public mutating func removePeer(_ node: NodeID) {
        reachable.remove(node)
        unreachable.remove(node)
        agreed.removeValue(forKey: node)
    }

    /// How many peers this engine gossips with.
    public var peerCount: Int { reachable.count + unreachable.count }

    /// Whether `node` is a peer.
    public func isPeer(_ node: NodeID) -> Bool { reachable.contains(node) || unreachable.contains(node) }

    // MARK: Rounds, digest level

    /// Whom a round goes to, and whether the peer needs this node's state or only its digest.
    public struct Target: Sendable, Hashable {
        /// The peer.
        public var peer: NodeID
        /// False when this node's state is what an exchange last found a peer to hold as well
        /// (`peer` or another): the digest alone tells the peer so.
        public var sendsState: Bool
    }

    /// The round due at `now`, for a state whose digest is `digest`: the peers to exchange with
    /// (none when the round is not due yet or there is nobody). Schedules the next round.
    public mutating func round(at now: Instant, digest: UInt64) -> [Target] {
        guard now >= nextRound else { return [] }
        nextRound = now + pause()
        var chosen: [NodeID] = []
        let wanted = min(max(settings.fanout, 1), peerCount)
        if settings.unreachableEvery > 0, !unreachable.isEmpty, reachable.isEmpty || random.next(upperBound: UInt64(settings.unreachableEvery)) == 0,
           let peer = unreachable.randomElement(using: &random)
        {
            chosen.append(peer)
        }
        // The rest from the reachable peers (all of them when there are no more than needed),
        // then, if still short, from the unreachable ones.
        for pool in [reachable, unreachable] where chosen.count < wanted {
            let candidates = pool.count - pool.members.filter { chosen.contains($0) }.count
            if candidates <= wanted - chosen.count {
                chosen += pool.members.filter { !chosen.contains($0) }
                continue
            }
            while chosen.count < wanted, let peer = pool.randomElement(using: &random) {
                if !chosen.contains(peer) { chosen.append(peer) }
            }
        }
        exchangesStarted += UInt64(chosen.count)
        let settled = confirmed == digest
        return chosen.map { Target(peer: $0, sendsState: !settled && agreed[$0] != digest) }
    }

    /// A peer's digest arrived in an exchange it started, and this node's digest after merging
    /// what came with it is `digest`. Returns whether the answer must carry this node's state.
    public mutating func received(from peer: NodeID, theirs: UInt64, digest: UInt64) -> Bool {
        if theirs == digest {
            agreed[peer] = digest
            confirmed = digest
            return false
        }
        agreed.removeValue(forKey: peer)
        return true
    }

    /// The answer to an exchange this node started came back: the peer's digest was `theirs`,
    /// and this node's, after merging what came with it, is `digest`.
    public mutating func replied(from peer: NodeID, theirs: UInt64, digest: UInt64) {
        if theirs == digest {
            agreed[peer] = digest
            confirmed = digest
        } else {
            agreed.removeValue(forKey: peer)
        }
    }

    /// An exchange with `peer` failed (no answer in time): nothing is agreed with it.
    public mutating func exchangeFailed(with peer: NodeID) {
        agreed.removeValue(forKey: peer)
    }

    // MARK: Rounds, state level

    /// The round due at `now` for `state`, as the envelopes to send.
    public mutating func round<State: GossipState>(at now: Instant, _ state: State) -> [GossipExchange<State.Message>] {
        let digest = state.gossipDigest
        return round(at: now, digest: digest).map { target in
            GossipExchange(
                peer: target.peer,
                envelope: GossipEnvelope(digest: digest, message: target.sendsState ? state.gossipMessage(for: target.peer) : nil))
        }
    }

    /// Answers an exchange `peer` started: merges what it sent into `state`, and returns the
    /// answer (this node's state, unless the two now agree) with what the merge changed.
    public mutating func receive<State: GossipState>(
        _ envelope: GossipEnvelope<State.Message>, from peer: NodeID, into state: inout State
    ) -> (answer: GossipEnvelope<State.Message>, changes: State.Changes?) {
        let changes = envelope.message.map { state.mergeGossip($0, from: peer) }
        let digest = state.gossipDigest
        let sends = received(from: peer, theirs: envelope.digest, digest: digest)
        return (GossipEnvelope(digest: digest, message: sends ? state.gossipMessage(for: peer) : nil), changes)
    }

    /// Takes in the answer to an exchange this node started; returns what the merge changed.
    public mutating func receiveReply<State: GossipState>(
        _ envelope: GossipEnvelope<State.Message>, from peer: NodeID, into state: inout State
    ) -> State.Changes? {
        let changes = envelope.message.map { state.mergeGossip($0, from: peer) }
        replied(from: peer, theirs: envelope.digest, digest: state.gossipDigest)
        return changes
    }

    private mutating func pause() -> Duration {
        let jitter = min(max(settings.jitter, 0), 1)
        guard jitter > 0 else { return settings.interval }
        let unit = Double(random.next() >> 11) / Double(1 << 53)
        return settings.interval * (1 - jitter + 2 * jitter * unit)
    }
}

/// A set of nodes with constant-time random choice.
private struct NodeSet: Sendable {
    private var nodes: [NodeID] = []
    private var index: [NodeID: Int] = [:]

    var count: Int { nodes.count }
    var isEmpty: Bool { nodes.isEmpty }
    var members: [NodeID] { nodes }

    func contains(_ node: NodeID) -> Bool { index[node] != nil }

    mutating func insert(_ node: NodeID) {
        guard index[node] == nil else { return }
        index[node] = nodes.count
        nodes.append(node)
    }

    mutating func remove(_ node: NodeID) {
        guard let position = index.removeValue(forKey: node) else { return }
        let last = nodes.removeLast()
        if position < nodes.count {
            nodes[position] = last
            index[last] = position
        }
    }

    func randomElement(using random: inout SplitMix64) -> NodeID? {
        nodes.randomElement(using: &random)
    }
}
