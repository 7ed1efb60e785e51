/// When a leader holding an etcd lease must renew it, and when it must step down: a value with
/// the time passed in, tested alone.
///
/// The lease's time runs at etcd from when etcd grants or renews it, which is after this process
/// sent the request; so this process counts its `ttl` from the moment it sent the request, and
/// is sure the lease lives until then. It steps down `margin` before that, so its demotion is
/// reported before etcd can let another process take the key.
struct LeaseDeadline: Sendable, Equatable {
    let margin: Duration
    private(set) var expiry: ContinuousClock.Instant?
    private(set) var ttl: Duration = .zero

    init(margin: Duration) { self.margin = margin }

    /// A grant or keep-alive sent at `sentAt` was answered: the lease has `seconds` left.
    mutating func renewed(sentAt: ContinuousClock.Instant, seconds: Int) {
        ttl = .seconds(seconds)
        let candidate = sentAt + ttl
        expiry = max(expiry ?? candidate, candidate)
    }

    /// When to step down: `margin` before the lease may expire.
    var resignAt: ContinuousClock.Instant? { expiry.map { $0 - margin } }

    /// Whether the leader must step down at `now`.
    func mustResign(at now: ContinuousClock.Instant) -> Bool {
        guard let resignAt else { return true }
        return now >= resignAt
    }

    /// When to renew next: a third of the way through the lease, and no later than halfway to
    /// stepping down (a failed renewal leaves time for another).
    func nextRenewal(after now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        guard let resignAt else { return now }
        let regular = now + ttl / 3
        let halfway = now + (resignAt - now) / 2
        return min(regular, max(now, halfway))
    }
}
