import KumoCore

/// Membership spreads as whole views, merged by the membership rules.
extension Membership: GossipState {
    var gossipDigest: UInt64 { digest }

    func gossipMessage(for peer: NodeID) -> Membership { self }

    mutating func mergeGossip(_ message: Membership, from peer: NodeID) -> [Change] {
        merge(message)
    }

    /// This view without the members `drop` names.
    func removing(_ drop: (NodeID) -> Bool) -> Membership {
        var kept = Membership()
        for member in members.values.sorted(by: { $0.node < $1.node }) where !drop(member.node) {
            kept.update(member)
        }
        return kept
    }
}
