import KumoCore

/// The downing strategy as a value: it remembers when each member became unreachable and, given
/// the membership and the time, decides whom to down — or that this node must down itself.
///
/// Time comes in as an argument, so the rules are tested alone with made-up instants; the
/// membership agent feeds it its failure detector's verdicts and carries out the decisions.
///
/// The rules (docs/cluster.md, *Downing*):
/// - Only full members vote: clients (``NodeRole/client``) and members not yet up do not count
///   towards a majority; with no voter at all, every live member counts.
/// - Under keep-majority, the side of a partition that reaches more than half of the voters
///   downs the members unreachable past the timeout; the side that reaches fewer downs itself.
///   On an exact half the side holding the *oldest* voter (the lowest up number) survives, so a
///   member that joined a moment ago and crashed never costs the members that were there first
///   their place.
/// - A client downs nobody but itself: under keep-majority when it is on the minority side,
///   under timeout downing when it reaches no voter at all.
struct Downing: Sendable {
    typealias Instant = ContinuousClock.Instant

    /// What to do now.
    enum Decision: Equatable, Sendable {
        /// Nothing (yet).
        case wait
        /// Down these members (sorted by identity).
        case down([NodeID])
        /// Down this node itself; the reason is for the log.
        case downSelf(reason: String)
    }

    let strategy: DowningStrategy
    let me: NodeID
    /// When each member this node finds unreachable became so.
    private(set) var unreachableSince: [NodeID: Instant] = [:]

    init(strategy: DowningStrategy, me: NodeID) {
        self.strategy = strategy
        self.me = me
    }

    /// The failure detector cannot reach `node` (the first report starts its clock).
    mutating func unreachable(_ node: NodeID, at now: Instant) {
        if unreachableSince[node] == nil { unreachableSince[node] = now }
    }

    /// This node itself did not run for a while (starved of CPU, stopped, suspended): what it
    /// failed to hear meanwhile is no evidence against the others. Every running clock starts
    /// again at `now`, so a member is downed only after the full timeout observed while this
    /// node runs.
    mutating func pausedLocally(at now: Instant) {
        for node in unreachableSince.keys { unreachableSince[node] = now }
    }

    /// Whether this node's own loop, asked to sleep `requested`, was held up so long
    /// (`actual`) that its verdicts of the last moments cannot be trusted: more than a second,
    /// and more than twice the probe interval, late.
    static func isLocalPause(requested: Duration, actual: Duration, probeInterval: Duration) -> Bool {
        actual - requested > max(.seconds(1), probeInterval * 2)
    }

    /// The failure detector reaches `node` again, or it is gone: its clock stops.
    mutating func forget(_ node: NodeID) {
        unreachableSince.removeValue(forKey: node)
    }

    /// How long `node` has been unreachable at `now`.
    func unreachableFor(_ node: NodeID, at now: Instant) -> Duration? {
        unreachableSince[node].map { now - $0 }
    }

    /// The decision for `membership` at `now`.
    func decide(_ membership: Membership, now: Instant) -> Decision {
        let timeout: Duration
        let keepMajority: Bool
        switch strategy.kind {
        case .manual: return .wait
        case .timeout(let duration): (timeout, keepMajority) = (duration, false)
        case .keepMajority(let duration): (timeout, keepMajority) = (duration, true)
        }
        guard let myself = membership[me], !myself.status.isTerminal else { return .wait }
        let due = unreachableSince.filter { now - $0.value >= timeout }.keys
            .compactMap { membership[$0] }
            .filter { !$0.status.isTerminal && $0.node != me }
            .sorted { $0.node < $1.node }
        guard !due.isEmpty else { return .wait }
        let voters = Self.voters(of: membership)
        let dueVoters = due.filter { voter in voters.contains { $0.node == voter.node } }
        if keepMajority {
            switch side(of: membership) {
            case .minority where !dueVoters.isEmpty:
                return .downSelf(reason: "this node cannot reach a majority of the cluster for \(timeout)")
            case .minority:
                return .wait  // only clients are due; the voters' reachability settles first
            case .majority:
                return myself.role == .client ? .wait : .down(due.map(\.node))
            }
        }
        guard myself.role != .client else {
            let reachesAVoter = voters.contains { $0.node != me && $0.reachability == .reachable }
            return reachesAVoter || dueVoters.isEmpty
                ? .wait : .downSelf(reason: "this client reaches no member of the cluster for \(timeout)")
        }
        return .down(due.map(\.node))
    }

    /// Which side of a partition this node is on, by the reachability its failure detector sees.
    enum Side: Equatable, Sendable {
        case majority, minority
    }

    /// More than half of the voters reachable (this node counts as reachable to itself): the
    /// majority; fewer: the minority; exactly half: the side holding the oldest voter wins.
    func side(of membership: Membership) -> Side {
        let voters = Self.voters(of: membership)
        let reachable = voters.filter { $0.node == me || $0.reachability == .reachable }
        if reachable.count * 2 > voters.count { return .majority }
        if reachable.count * 2 < voters.count { return .minority }
        guard let oldest = voters.min(by: { $0.isOlder(than: $1) }) else { return .majority }
        return reachable.contains { $0.node == oldest.node } ? .majority : .minority
    }

    /// The members that count in majority decisions: full members that are up or leaving; when
    /// there is none, every live member.
    static func voters(of membership: Membership) -> [Member] {
        let alive = membership.alive
        let voters = alive.filter { $0.role == .member && $0.status >= .up }
        return voters.isEmpty ? alive : voters
    }
}
