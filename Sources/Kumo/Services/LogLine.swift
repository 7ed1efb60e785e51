import KumoCore

/// A line of the cluster log: what was said, by which node and actor, and when.
public struct LogLine: Sendable, Hashable, Codable {
    public var text: String
    public var node: NodeID
    public var nodeName: String
    public var actor: ActorID?
    /// Milliseconds since 1970 on the sender's clock.
    public var timestamp: UInt64

    public init(text: String, node: NodeID, nodeName: String, actor: ActorID?, timestamp: UInt64) {
        self.text = text
        self.node = node
        self.nodeName = nodeName
        self.actor = actor
        self.timestamp = timestamp
    }
}
