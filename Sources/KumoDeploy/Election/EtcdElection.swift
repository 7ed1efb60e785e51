import Foundation
import Logging

extension ElectionBackend where Self == EtcdElection {
    /// etcd decides: a leader holds the key `/kumo/election/NAME`, created under a lease of
    /// `ttl` that it keeps alive; its token is the revision that created the key (etcd's
    /// revisions only grow). At most one process leads at any instant: a leader that cannot
    /// renew its lease steps down before the lease can expire, and nobody else can create the
    /// key until it has. An etcd that is down elects nobody; campaigns retry until it is back.
    /// - Parameters:
    ///   - endpoint: etcd's client address, `HOST:PORT` (its HTTP/JSON gateway).
    ///   - ttl: the lease, in whole seconds (etcd may lengthen a very short one).
    ///   - identity: what the key holds while this process leads. Default `HOST-PID`.
    public static func etcd(endpoint: String, ttl: Int = 5, identity: String? = nil, logger: Logger = Logger(label: "kumo.election")) throws -> EtcdElection {
        guard ttl >= 1 else { throw DeploymentError(field: "ttl", problem: "must be at least 1 second, not \(ttl)") }
        return EtcdElection(
            client: try EtcdClient(endpoint: endpoint, timeout: .seconds(max(1, ttl) ) / 2),
            ttl: ttl,
            identity: identity ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)",
            logger: logger)
    }
}

/// An election decided by etcd leases (see ``ElectionBackend/etcd(endpoint:ttl:identity:logger:)``).
public struct EtcdElection: ElectionBackend {
    let client: EtcdClient
    let ttl: Int
    let identity: String
    let logger: Logger
    /// How often a follower looks whether the key is free.
    var pollInterval: Duration = .milliseconds(100)

    public func campaign(_ name: String, report: @escaping @Sendable (Leadership) async -> Void) async throws {
        let key = "/kumo/election/\(name)"
        let clock = ContinuousClock()
        var backoff = Duration.milliseconds(100)
        defer { Task { [client] in await client.close() } }
        while !Task.isCancelled {
            do {
                var deadline = LeaseDeadline(margin: max(.milliseconds(300), .seconds(ttl) / 5))
                let sentAt = clock.now
                let lease = try await client.grant(ttl: ttl)
                deadline.renewed(sentAt: sentAt, seconds: lease.ttl)
                if let revision = try await client.create(key, value: identity, lease: lease), !deadline.mustResign(at: clock.now) {
                    backoff = .milliseconds(100)
                    logger.info("elected", metadata: ["election": "\(name)", "token": "\(revision)"])
                    await report(.elected(FencingToken(revision)))
                    await lead(lease: lease, deadline: deadline, clock: clock)
                    logger.info("demoted", metadata: ["election": "\(name)", "token": "\(revision)"])
                    await report(.demoted)
                    if Task.isCancelled {
                        // Resigning frees the key at once, for the next leader.
                        try? await client.revoke(lease)
                        return
                    }
                    continue
                }
                // Somebody leads (or the answer came too late to lead on): wait until the key is free.
                try? await client.revoke(lease)
                while !Task.isCancelled, try await client.createRevision(of: key) != nil {
                    try? await Task.sleep(for: pollInterval)
                }
            } catch {
                logger.debug("etcd did not answer; campaigning again", metadata: ["election": "\(name)", "error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
            }
        }
    }

    /// Keeps the lease alive until it cannot be sure of it (or the task is cancelled).
    private func lead(lease: EtcdClient.Lease, deadline: LeaseDeadline, clock: ContinuousClock) async {
        var deadline = deadline
        while !Task.isCancelled {
            let now = clock.now
            guard !deadline.mustResign(at: now), let resignAt = deadline.resignAt else { return }
            let renewal = deadline.nextRenewal(after: now)
            if renewal > now { try? await Task.sleep(until: renewal, clock: clock) }
            if Task.isCancelled { return }
            let sentAt = clock.now
            guard sentAt < resignAt else { return }
            do {
                let left = try await client.keepAlive(lease, timeout: resignAt - sentAt)
                guard left > 0 else { return }
                deadline.renewed(sentAt: sentAt, seconds: left)
            } catch {
                logger.debug("a lease renewal failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
