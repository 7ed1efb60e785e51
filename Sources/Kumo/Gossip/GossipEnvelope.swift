/// What one side of a gossip exchange sends: its digest, and its message unless the two sides
/// are known to agree already.
public struct GossipEnvelope<Message: Sendable>: Sendable {
    /// The sender's digest when it sent this.
    public var digest: UInt64
    /// The sender's state (or what the receiver lacks of it); `nil` when the sender believes the
    /// receiver has it all.
    public var message: Message?

    /// An envelope with `digest` and, when there is something to tell, `message`.
    public init(digest: UInt64, message: Message?) {
        self.digest = digest
        self.message = message
    }
}

extension GossipEnvelope: Codable where Message: Codable {}
extension GossipEnvelope: Equatable where Message: Equatable {}

/// An exchange a gossip round starts: send `envelope` to `peer` and hand the reply to
/// ``GossipEngine/receiveReply(_:from:into:)``, or report the failure with
/// ``GossipEngine/exchangeFailed(with:)``.
public struct GossipExchange<Message: Sendable>: Sendable {
    /// Whom to send to.
    public var peer: NodeID
    /// What to send.
    public var envelope: GossipEnvelope<Message>
}
