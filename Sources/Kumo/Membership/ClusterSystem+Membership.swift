import KumoCore

extension ClusterSystem {
    /// Runs `body` on the node's membership agent; `nil` once the node has shut down.
    func withDaemon<T: Sendable>(_ body: @Sendable (isolated ClusterDaemon) async throws -> T) async rethrows -> T? {
        guard let daemon else { return nil }
        return try await daemon.whenLocal { try await body($0) }
    }

    func notRunning() -> ClusterError {
        ClusterError(.shuttingDown, "node \(settings.name) is not running", node: node)
    }

    // MARK: Membership

    /// This node's view of the cluster's members, ordered by address.
    public func members() async -> [Member] {
        await withDaemon { $0.membership.sorted } ?? []
    }

    /// The membership as the node at `address` sees it (what `kumo status` prints).
    /// - Throws: ``ClusterError`` when the node cannot be reached or refuses the handshake.
    public func members(of address: NodeAddress) async throws -> [Member] {
        let peer = try await connect(to: address)
        let remote = try ClusterDaemon.resolve(id: .named(ClusterDaemon.actorName, on: peer), using: self)
        return try await remote.members()
    }

    /// Membership events as this node observes them: first one event per current member, then
    /// every change. The stream buffers the newest 4096 events for a slow consumer.
    public func membershipEvents() async -> AsyncStream<MembershipEvent> {
        await withDaemon { $0.subscribe() } ?? AsyncStream { $0.finish() }
    }

    /// How many membership messages (probes, gossip, joins) this node has sent; for measuring
    /// the protocol's overhead.
    public func membershipMessagesSent() async -> UInt64 {
        await withDaemon { $0.messagesSent } ?? 0
    }

    /// Leaves the cluster gracefully (leaving, then removed) without shutting the node down,
    /// after telling the plugins (``ClusterPlugin/willLeave(_:)``). ``shutdown()`` does this first.
    public func leave() async {
        await pluginsWillLeave()
        _ = await withDaemon { await $0.leave() }
    }

    /// Declares `node` down (for the manual downing strategy, or an operator).
    public func down(_ node: NodeID) async {
        _ = await withDaemon { $0.down(node) }
    }

    /// Waits until this node sees `count` members, all up, or throws after `timeout`.
    public func waitForMembers(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if await withDaemon({ $0.membership.allUp(count: count) }) == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let view = await members().map(\.description).joined(separator: "; ")
        throw ClusterError(.timeout, "\(settings.name) does not see \(count) members up within \(timeout): \(view)", node: node)
    }
}
