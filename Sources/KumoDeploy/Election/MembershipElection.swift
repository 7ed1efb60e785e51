import Kumo

extension ElectionBackend where Self == MembershipElection {
    /// The cluster's own view decides: the leader is the oldest up member that this node
    /// reaches, while this node reaches a majority of the members; its token is its up number
    /// (members come up in order, so a younger leader's is higher). Needs nothing but the
    /// cluster, and is as safe as the membership: in the seconds a partition lasts before the
    /// downing, a cut-off leader is demoted by its own view, but a late write of its can still
    /// reach a downstream — which its token lets the downstream refuse. For at most one leader
    /// at any instant, use ``ElectionBackend/etcd(endpoint:ttl:)``.
    public static func membership(_ system: ClusterSystem, checkEvery interval: Duration = .milliseconds(250)) -> MembershipElection {
        MembershipElection(system: system, interval: interval)
    }
}

/// An election decided by the cluster's membership (see ``ElectionBackend/membership(_:checkEvery:)``).
public struct MembershipElection: ElectionBackend {
    let system: ClusterSystem
    let interval: Duration

    public func campaign(_ name: String, report: @escaping @Sendable (Leadership) async -> Void) async throws {
        var leading: FencingToken?
        let events = await system.membershipEvents()
        // Events say when to look again; the timer covers what no event announces.
        let ticks = AsyncStream<Void> { continuation in
            let task = Task {
                for await _ in events { continuation.yield() }
                continuation.finish()
            }
            let timer = Task { [interval] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    continuation.yield()
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                timer.cancel()
            }
        }
        for await _ in ticks {
            if Task.isCancelled { break }
            let token = system.isDowned ? nil : OldestMemberRule.token(of: system.node, in: await system.members())
            if token != leading {
                if leading != nil { await report(.demoted) }
                if let token { await report(.elected(token)) }
                leading = token
            }
        }
        if leading != nil { await report(.demoted) }
    }
}

/// Who leads by the membership: a value rule, tested alone.
enum OldestMemberRule {
    /// `me`'s token when `me` leads in the view `members`: it is the oldest up member it
    /// reaches, and it reaches a majority of the members (clients do not count).
    static func token(of me: NodeID, in members: [Member]) -> FencingToken? {
        let voters = members.filter { $0.role == .member && !$0.status.isTerminal && $0.status != .joining }
        let reached = voters.filter { $0.node == me || $0.reachability == .reachable }
        guard reached.count * 2 > voters.count else { return nil }
        let oldest = reached.filter { $0.status == .up }.min { $0.isOlder(than: $1) }
        guard let oldest, oldest.node == me, oldest.upNumber > 0 else { return nil }
        return FencingToken(oldest.upNumber)
    }
}
