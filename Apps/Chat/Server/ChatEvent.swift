import Kumo

/// What one chat server tells the others: every server shows it to its own clients.
enum ChatEvent: Sendable, Codable, Equatable {
    /// `name` joined, on the server on `server`.
    case connected(String, server: NodeID)
    /// `name`, of the server on `server`, left.
    case disconnected(String, server: NodeID)
    /// `name` said `text` to everyone.
    case message(from: String, text: String)
}
