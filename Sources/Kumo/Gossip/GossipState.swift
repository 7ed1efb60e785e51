/// A state that spreads by gossip (``GossipEngine``): it summarizes itself in a digest, says what
/// to tell a peer, and merges what a peer told it.
///
/// Merging must be a join: commutative, associative and idempotent, so that views converge
/// whatever order exchanges happen in. The digest must be the same in every process for the same
/// state (use ``FNV1a``, not `Hasher`) and cheap to read: keep it up to date as the state changes,
/// for example as the XOR of one hash per entry.
public protocol GossipState: Sendable {
    /// What an exchange carries.
    associatedtype Message: Sendable
    /// What merging reports to the shell (the changes it must act on).
    associatedtype Changes: Sendable

    /// Equal digests mean equal states.
    var gossipDigest: UInt64 { get }

    /// What to tell `peer` in an exchange.
    func gossipMessage(for peer: NodeID) -> Message

    /// Takes in what `peer` told this node.
    mutating func mergeGossip(_ message: Message, from peer: NodeID) -> Changes
}
