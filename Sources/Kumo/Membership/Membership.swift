import KumoCore

/// The set of members as one node sees it, and the rules that merge two such views.
///
/// A pure value, so its merge rules are tested alone. Statuses form a lattice per node (see
/// ``MemberStatus``); a newer incarnation at an address supersedes the older one, which is then
/// down. Reachability is not merged: each node judges it for itself.
struct Membership: Sendable, Hashable, Codable {
    /// Members by node.
    private(set) var members: [NodeID: Member] = [:]

    init() {}

    /// The member for `node`.
    subscript(node: NodeID) -> Member? { members[node] }

    /// All members, ordered by address.
    var sorted: [Member] { members.values.sorted { $0.node < $1.node } }

    /// Members that are joining, up or leaving.
    var alive: [Member] { members.values.filter { !$0.status.isTerminal } }

    /// A change to one member, produced by ``merge(_:)`` and ``update(_:)``.
    struct Change: Sendable, Hashable {
        var member: Member
        var previous: MemberStatus?
    }

    /// Applies one member's news; returns the change when something moved forward.
    @discardableResult
    mutating func update(_ incoming: Member) -> [Change] {
        var changes: [Change] = []
        var incoming = incoming
        // Incarnations grow with each start at an address: a newer one means the older is gone.
        for (node, existing) in members where node.address == incoming.node.address && node != incoming.node {
            if node.incarnation < incoming.node.incarnation, !existing.status.isTerminal {
                var down = existing
                down.status = .down
                members[node] = down
                changes.append(Change(member: down, previous: existing.status))
            } else if node.incarnation > incoming.node.incarnation, !incoming.status.isTerminal {
                incoming.status = .down
            }
        }
        if var existing = members[incoming.node] {
            // Up numbers merge by their minimum (0 is unknown), so two seeds that both admitted
            // a joiner settle on one number; they change no status and make no event.
            if incoming.upNumber != 0, existing.upNumber == 0 || incoming.upNumber < existing.upNumber {
                existing.upNumber = incoming.upNumber
                members[incoming.node] = existing
            }
            guard incoming.status > existing.status else { return changes }
            let previous = existing.status
            existing.status = incoming.status
            if existing.name.isEmpty { existing.name = incoming.name }
            members[incoming.node] = existing
            changes.append(Change(member: existing, previous: previous))
        } else {
            var fresh = incoming
            fresh.reachability = .reachable
            members[incoming.node] = fresh
            changes.append(Change(member: fresh, previous: nil))
        }
        return changes
    }

    /// Merges another node's view into this one, skipping the nodes `ignoring` names (members
    /// forgotten after they went down, which must never come back); returns what changed here.
    @discardableResult
    mutating func merge(_ other: Membership, ignoring: (NodeID) -> Bool = { _ in false }) -> [Change] {
        var changes: [Change] = []
        for member in other.members.values.sorted(by: { $0.node < $1.node }) where !ignoring(member.node) {
            changes += update(member)
        }
        return changes
    }

    /// Sets this node's own judgement of `node`'s reachability; returns whether it changed.
    @discardableResult
    mutating func mark(_ node: NodeID, _ reachability: Reachability) -> Member? {
        guard var member = members[node], member.reachability != reachability else { return nil }
        member.reachability = reachability
        members[node] = member
        return member
    }

    /// Forgets members that have been terminal for a while (the caller decides which).
    mutating func prune(_ nodes: some Sequence<NodeID>) {
        for node in nodes where members[node]?.status.isTerminal == true {
            members.removeValue(forKey: node)
        }
    }

    /// The highest up number any member has (0 when none is up).
    var highestUpNumber: UInt64 {
        members.values.map(\.upNumber).max() ?? 0
    }

    /// Whether every alive member is `up` and all views agree on `nodes` (used to wait for convergence).
    func allUp(count: Int) -> Bool {
        let alive = self.alive
        return alive.count == count && alive.allSatisfy { $0.status == .up }
    }
}
