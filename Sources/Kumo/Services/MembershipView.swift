import KumoCore

/// A service's own copy of the membership, kept from the membership agent's events
/// (``ClusterSystem/membershipEvents()``), so the service never reaches into the agent.
struct MembershipView: Sendable {
    private(set) var members: [NodeID: Member] = [:]

    /// Applies one event; returns the member whose status became terminal, if this event did it.
    @discardableResult
    mutating func apply(_ event: MembershipEvent) -> Member? {
        let member = event.member
        let wasTerminal = members[member.node]?.status.isTerminal ?? false
        switch event {
        case .statusChanged:
            var updated = members[member.node] ?? member
            updated.status = member.status
            updated.name = member.name
            updated.role = member.role
            updated.upNumber = member.upNumber
            members[member.node] = updated
        case .unreachable, .reachable:
            members[member.node] = member
        }
        return !wasTerminal && member.status.isTerminal ? member : nil
    }

    subscript(node: NodeID) -> Member? { members[node] }

    /// Whether `node` is a member in good standing (joining, up or leaving).
    func isAlive(_ node: NodeID) -> Bool {
        members[node].map { !$0.status.isTerminal } ?? false
    }

    /// The members in good standing.
    var alive: [Member] { members.values.filter { !$0.status.isTerminal } }
}

extension ClusterSystem {
    /// Runs `handle` on every membership event, in a task that ends when the node's membership
    /// stream does (at shutdown). For the services that keep a ``MembershipView``.
    func followMembership(_ handle: @escaping @Sendable (MembershipEvent) async -> Void) async -> Task<Void, Never> {
        let events = await membershipEvents()
        return Task {
            for await event in events { await handle(event) }
        }
    }
}
