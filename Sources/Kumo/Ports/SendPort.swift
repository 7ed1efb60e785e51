import KumoCore
import NIOCore

/// The sending end of a typed channel: send messages of one type to a ``ReceivePort``, one way,
/// from any node.
///
/// A `SendPort` is `Codable`: pass it as an argument or a result of a distributed func, or inside
/// another message, and the node that decodes it can send to the port. Sending is Erlang's `!`:
/// no reply is awaited, and messages from one sender arrive in the order sent. `send` suspends
/// only to push back, when the connection's outbox or a local port is full.
public struct SendPort<Message: Codable & Sendable>: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The node the receiving port lives on.
    public let node: NodeID
    /// The port's number on that node.
    public let number: UInt64
    private let system: ClusterSystem?
    /// The connection this port's messages leave by, shared by its copies (not part of its value).
    let route: PortRoute?

    init(node: NodeID, number: UInt64, system: ClusterSystem) {
        self.node = node
        self.number = number
        self.system = system
        self.route = node == system.node ? nil : PortRoute()
    }

    /// Sends `message` to the port.
    /// - Throws: ``ClusterError`` when the port's node cannot be reached, the port (if local) is
    ///   closed, or the message cannot be encoded.
    public func send(_ message: Message) async throws {
        guard let system else {
            throw ClusterError(.invalidConfiguration, "this SendPort was decoded without a ClusterSystem; it cannot send")
        }
        try await system.send(message, to: self)
    }

    public var description: String { "SendPort<\(Message.self)>(\(number)@\(node))" }

    private enum CodingKeys: String, CodingKey { case node, number }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        node = try container.decode(NodeID.self, forKey: .node)
        number = try container.decode(UInt64.self, forKey: .number)
        let system = decoder.userInfo[.actorSystemKey] as? ClusterSystem
        self.system = system
        if let system, node != system.node { route = PortRoute() } else { route = nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        try container.encode(number, forKey: .number)
    }

    public static func == (lhs: SendPort, rhs: SendPort) -> Bool {
        lhs.node == rhs.node && lhs.number == rhs.number
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(node)
        hasher.combine(number)
    }
}
