import Kumo

/// A replication that did not do what was asked, saying why.
public struct ReplicationError: Error, Sendable, Codable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added.
    public enum Code: String, Sendable, Codable, Hashable {
        /// Too few replicas acknowledged a write (or answered a read) in time.
        case consistencyNotReached
        /// A delta or state of a CRDT type this node does not know.
        case unknownType
        /// The key holds another CRDT type.
        case typeMismatch
        /// The state could not be decoded.
        case malformed
        /// The node does not run the ``Replication`` plugin.
        case notInstalled
    }

    /// What kind of failure this is.
    public var code: Code
    /// The key.
    public var key: String
    /// Replicas that acknowledged (for ``Code/consistencyNotReached``).
    public var acknowledged: Int
    /// Replicas needed.
    public var needed: Int
    /// A readable account.
    public var message: String

    /// A replication error.
    public init(_ code: Code, key: String, acknowledged: Int = 0, needed: Int = 0, _ message: String) {
        self.code = code
        self.key = key
        self.acknowledged = acknowledged
        self.needed = needed
        self.message = message
    }

    public var description: String { "ReplicationError.\(code.rawValue) for key \(key): \(message)" }
}
