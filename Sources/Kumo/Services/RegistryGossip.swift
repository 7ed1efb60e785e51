import KumoCore

/// What the registry gossips: its ``Registry``, merged only for members in good standing, never
/// for this node (whose registrations only it makes).
struct RegistryGossip: GossipState {
    let me: NodeID
    var registry = Registry()
    /// The membership, as the registry's agent follows it.
    var members = MembershipView()

    init(me: NodeID) {
        self.me = me
    }

    var gossipDigest: UInt64 { registry.digest }

    func gossipMessage(for peer: NodeID) -> Registry { registry }

    /// Returns the keys whose actors changed.
    mutating func mergeGossip(_ message: Registry, from peer: NodeID) -> Set<String> {
        registry.merge(message) { [members, me] node in node != me && members.isAlive(node) }
    }
}
