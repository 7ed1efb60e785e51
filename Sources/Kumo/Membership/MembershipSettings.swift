/// How a node joins, gossips, detects failures and downs unreachable members.
///
/// The defaults detect a crashed member on every node within about 5–7 s on a quiet network:
/// a probe finds it within one or two probe intervals, `downAfter` passes, and gossip spreads
/// the verdict in a few rounds.
public struct MembershipSettings: Sendable {
    /// Whether the node takes part in membership at all. Default `true`.
    public var enabled: Bool = true
    /// How often the node exchanges its view with one random member (push–pull). Default 300 ms.
    public var gossipInterval: Duration = .milliseconds(300)
    /// How often the node probes one member (SWIM style). Default 500 ms.
    public var probeInterval: Duration = .milliseconds(500)
    /// How long a direct probe may take before indirect probes are tried. Default 500 ms.
    public var probeTimeout: Duration = .milliseconds(500)
    /// How many other members are asked to probe a member that did not answer. Default 3.
    public var indirectProbes: Int = 3
    /// What turns an unreachable member into a down one. Default: keep the majority, after 4 s.
    public var downing: DowningStrategy = .keepMajority(after: .seconds(4))
    /// How long a leaving node waits for its news to spread before it stops. Default 1 s.
    public var leaveGracePeriod: Duration = .milliseconds(1000)
    /// How long a down or removed member is remembered, so stale gossip cannot revive it.
    /// Default 60 s.
    public var forgetAfter: Duration = .seconds(60)
    /// Join rounds (one per gossip interval) with no answer after which a joining node starts a cluster of its own (and
    /// keeps looking). Default 10.
    public var joinAttemptsBeforeAlone: Int = 10

    public init() {}
}

/// What turns an unreachable member into a down one.
public struct DowningStrategy: Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        case timeout(Duration)
        case keepMajority(Duration)
        case manual
    }

    let kind: Kind

    /// A member unreachable for `duration` is marked down by the node that sees it so; the
    /// verdict spreads by gossip. One lost probe never downs anyone: a probe that times out is
    /// retried through other members first, and the clock starts only once they fail too.
    public static func timeout(_ duration: Duration) -> DowningStrategy { DowningStrategy(kind: .timeout(duration)) }

    /// Like ``timeout(_:)``, but only on the side of a partition that can still reach a majority
    /// of the voting members (full members that are up; clients do not vote). On an exact half,
    /// the side holding the oldest member — the one that became up first — wins. A node on the
    /// minority side downs *itself* instead, so a partition never leaves two clusters running. A
    /// crashed node is downed by the rest as with ``timeout(_:)``; in a two-node cluster, where a
    /// crash and a partition look the same, the node that was there first survives.
    public static func keepMajority(after duration: Duration) -> DowningStrategy {
        DowningStrategy(kind: .keepMajority(duration))
    }

    /// Never down automatically; ``ClusterSystem/down(_:)`` does it.
    public static let manual = DowningStrategy(kind: .manual)

    public var description: String {
        switch kind {
        case .timeout(let duration): "timeout(\(duration))"
        case .keepMajority(let duration): "keepMajority(after: \(duration))"
        case .manual: "manual"
        }
    }
}
