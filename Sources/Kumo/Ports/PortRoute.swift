import Synchronization

/// The connection a ``SendPort``'s messages leave by, looked up on the first send and kept by
/// the port and its copies, so a stream of messages skips the node's connection table (a lock
/// and a lookup per message). Dropped when the connection turns out to be dead; the next send
/// looks it up again.
final class PortRoute: Sendable {
    private let kept = Mutex<Connection?>(nil)

    init() {}

    /// The connection kept, if any.
    var connection: Connection? { kept.withLock { $0 } }

    /// Keeps `connection` (or forgets the one kept).
    func keep(_ connection: Connection?) {
        kept.withLock { $0 = connection }
    }
}
