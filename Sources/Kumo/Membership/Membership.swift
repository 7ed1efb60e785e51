import KumoCore

/// The set of members as one node sees it, and the rules that merge two such views.
///
/// A pure value, so its merge rules are tested alone. Statuses form a lattice per node (see
/// ``MemberStatus``); a newer incarnation at an address supersedes the older one, which is then
/// down. Reachability is not merged: each node judges it for itself. The view keeps a digest
/// (the XOR of one hash per member) up to date as it changes, so gossip can tell in constant time
/// whether two views agree.
struct Membership: Sendable {
    /// Members by node.
    private(set) var members: [NodeID: Member] = [:]
    /// The incarnations known at each address.
    private var incarnations: [NodeAddress: [UInt64]] = [:]
    /// The XOR of ``hash(_:)`` over the members: equal views have equal digests.
    private(set) var digest: UInt64 = 0

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
        if var existing = members[incoming.node] {
            // Up numbers merge by their minimum (0 is unknown), so two seeds that both admitted
            // a joiner settle on one number; they change no status and make no event.
            let lowerUpNumber = incoming.upNumber != 0 && (existing.upNumber == 0 || incoming.upNumber < existing.upNumber)
            let forward = incoming.status > existing.status
            guard lowerUpNumber || forward else { return changes }
            let previous = existing
            if lowerUpNumber { existing.upNumber = incoming.upNumber }
            if forward {
                existing.status = incoming.status
                if existing.name.isEmpty { existing.name = incoming.name }
                changes.append(Change(member: existing, previous: previous.status))
            }
            replace(previous, with: existing)
            return changes
        }
        // Incarnations grow with each start at an address: a newer one means the older is gone.
        // Only a node not seen before needs the check: at most one incarnation per address is
        // ever alive here, and a status only moves forward.
        var fresh = incoming
        fresh.reachability = .reachable
        for incarnation in incarnations[incoming.node.address] ?? [] {
            let node = NodeID(address: incoming.node.address, incarnation: incarnation)
            guard let existing = members[node] else { continue }
            if incarnation < incoming.node.incarnation, !existing.status.isTerminal {
                var down = existing
                down.status = .down
                replace(existing, with: down)
                changes.append(Change(member: down, previous: existing.status))
            } else if incarnation > incoming.node.incarnation, !fresh.status.isTerminal {
                fresh.status = .down
            }
        }
        members[fresh.node] = fresh
        incarnations[fresh.node.address, default: []].append(fresh.node.incarnation)
        digest ^= Self.hash(fresh)
        changes.append(Change(member: fresh, previous: nil))
        return changes
    }

    /// A seed lets `member` in: it is up, and younger than every member known here (``Member/upNumber``).
    @discardableResult
    mutating func admit(_ member: Member) -> [Change] {
        var admitted = member
        if admitted.status < .up {
            admitted.status = .up
            admitted.upNumber = members[member.node].map(\.upNumber).flatMap { $0 == 0 ? nil : $0 } ?? highestUpNumber + 1
        }
        return update(admitted)
    }

    /// Merges another node's view into this one, skipping the nodes `ignoring` names (members
    /// forgotten after they went down, which must never come back); returns what changed here.
    @discardableResult
    mutating func merge(_ other: Membership, ignoring: (NodeID) -> Bool = { _ in false }) -> [Change] {
        guard other.digest != digest else { return [] }
        var changes: [Change] = []
        for member in other.members.values where !ignoring(member.node) {
            if let mine = members[member.node], mine.status >= member.status,
               member.upNumber == 0 || (mine.upNumber != 0 && mine.upNumber <= member.upNumber)
            {
                continue
            }
            changes += update(member)
        }
        return changes
    }

    /// Sets this node's own judgement of `node`'s reachability; returns the member when it changed.
    @discardableResult
    mutating func mark(_ node: NodeID, _ reachability: Reachability) -> Member? {
        guard var member = members[node], member.reachability != reachability else { return nil }
        member.reachability = reachability
        members[node] = member
        return member
    }

    /// Forgets members that have been terminal for a while (the caller decides which).
    mutating func prune(_ nodes: some Sequence<NodeID>) {
        for node in nodes {
            guard let member = members[node], member.status.isTerminal else { continue }
            members.removeValue(forKey: node)
            digest ^= Self.hash(member)
            incarnations[node.address]?.removeAll { $0 == node.incarnation }
            if incarnations[node.address]?.isEmpty == true { incarnations.removeValue(forKey: node.address) }
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

    private mutating func replace(_ old: Member, with new: Member) {
        members[new.node] = new
        digest ^= Self.hash(old) ^ Self.hash(new)
    }

    /// What of a member gossip spreads, hashed alike in every process (reachability is each
    /// node's own judgement and not part of it).
    static func hash(_ member: Member) -> UInt64 {
        var hash = FNV1a()
        hash.add(member.node.address.host)
        hash.add(UInt64(truncatingIfNeeded: member.node.address.port))
        hash.add(member.node.incarnation)
        hash.add(member.status.rawValue)
        hash.add(member.upNumber)
        // Spread the bits, so that XOR-ing many hashes does not cancel structure out.
        var mix = SplitMix64(seed: hash.value)
        return mix.next()
    }
}

extension Membership: Hashable {
    static func == (lhs: Membership, rhs: Membership) -> Bool {
        lhs.members == rhs.members
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(members)
    }
}

extension Membership: Codable {
    private enum CodingKeys: String, CodingKey {
        case members
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let decoded = try container.decode([NodeID: Member].self, forKey: .members)
        self.init()
        // Rebuilt through the merge rules, so a view from the wire holds together whatever it says.
        for member in decoded.values.sorted(by: { $0.node < $1.node }) {
            var member = member
            let reachability = member.reachability
            member.reachability = .reachable
            update(member)
            if reachability == .unreachable { mark(member.node, .unreachable) }
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(members, forKey: .members)
    }
}
