import Kumo
import Logging

/// Leader election (Metaparticle's `election`): of every process that runs an `Election` of the
/// same name on the same backend, at most one is the leader at a time; ``run()`` calls
/// `onElected` with the term's ``FencingToken`` when this process becomes it, and `onDemoted`
/// when it stops being it — cut off, its lease lost, or the election ended.
///
/// ```swift
/// let election = Election(name: "reporter", backend: .etcd(endpoint: "127.0.0.1:2379"),
///     onElected: { token in await reporter.start(fencing: token) },
///     onDemoted: { await reporter.stop() })
/// try await election.run()     // until the task is cancelled
/// ```
///
/// The two callbacks alternate, starting with `onElected`; `onDemoted` is called before another
/// process can be elected (for etcd: before this process's lease can expire), so tokens of two
/// leaders are never live at once. Unlike Kubernetes' client-go election, every term has a token
/// that grows: a downstream that keeps the highest it has seen refuses a deposed leader's writes.
public struct Election: Sendable {
    /// The election's name: the processes that run the same name compete.
    public let name: String
    let backend: any ElectionBackend
    let onElected: @Sendable (FencingToken) async -> Void
    let onDemoted: @Sendable () async -> Void

    public init(
        name: String, backend: any ElectionBackend,
        onElected: @escaping @Sendable (FencingToken) async -> Void,
        onDemoted: @escaping @Sendable () async -> Void
    ) {
        self.name = name
        self.backend = backend
        self.onElected = onElected
        self.onDemoted = onDemoted
    }

    /// An election over the membership of this process's node (``ElectionBackend/membership(_:checkEvery:)``
    /// of `ClusterSystem.sole`): for a program that is one cluster node. ``run()`` fails with a
    /// ``DeploymentError`` when no node, or more than one, runs in the process.
    public init(
        name: String, onElected: @escaping @Sendable (FencingToken) async -> Void, onDemoted: @escaping @Sendable () async -> Void
    ) {
        self.init(name: name, backend: SoleNodeElection(), onElected: onElected, onDemoted: onDemoted)
    }

    /// Campaigns until the task is cancelled; a leader is demoted (and resigns, so another is
    /// elected at once) before it returns.
    public func run() async throws {
        let leading = LeadershipLatch()
        do {
            try await backend.campaign(name) { leadership in
                switch leadership {
                case .elected(let token):
                    if await leading.elect() { await onElected(token) }
                case .demoted:
                    if await leading.demote() { await onDemoted() }
                }
            }
        } catch {
            if await leading.demote() { await onDemoted() }
            throw error
        }
        if await leading.demote() { await onDemoted() }
    }
}

/// The membership of whichever node runs in this process, found when the campaign starts.
struct SoleNodeElection: ElectionBackend {
    func campaign(_ name: String, report: @escaping @Sendable (Leadership) async -> Void) async throws {
        guard let system = ClusterSystem.sole else {
            throw DeploymentError(
                field: "backend",
                problem: "Election(name:onElected:onDemoted:) elects over this process's node, and none or several run here: give a backend, .membership(system) or .etcd(endpoint:)")
        }
        try await MembershipElection.membership(system).campaign(name, report: report)
    }
}

/// Whether the callbacks have made this process the leader: they alternate whatever a backend
/// reports twice.
private actor LeadershipLatch {
    private var leading = false

    func elect() -> Bool {
        defer { leading = true }
        return !leading
    }

    func demote() -> Bool {
        defer { leading = false }
        return leading
    }
}

/// Where an ``Election`` is decided: ``ElectionBackend/membership(_:)`` (the cluster's own
/// view) or ``ElectionBackend/etcd(endpoint:ttl:)`` (leases in etcd, for strong safety).
public protocol ElectionBackend: Sendable {
    /// Campaigns for `name` until the task is cancelled, reporting each change of this process's
    /// leadership; before returning, a leader resigns and reports `.demoted`.
    func campaign(_ name: String, report: @escaping @Sendable (Leadership) async -> Void) async throws
}
