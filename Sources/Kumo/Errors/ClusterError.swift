import KumoCore

/// A failure of the cluster machinery, or a remote failure that cannot be re-thrown as itself.
///
/// Every `ClusterError` says what happened (``code``), in words (``message``), and on which node
/// (``node``). Errors thrown by a remote actor arrive as themselves when their type is `Codable`
/// and known here; otherwise as a `ClusterError` with code ``Code/remoteError`` that carries the
/// remote type's name in ``errorType``. Two errors are equal when their codes are.
public struct ClusterError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: UInt8, Sendable, CaseIterable {
            case timeout = 1, nodeUnreachable, connectionLost, nodeGone, unknownActor, unknownTarget
            case argumentDecodingFailed, resultDecodingFailed, encodingFailed, remoteError
            case handshakeFailed, authenticationFailed, shuttingDown, protocolError, invalidConfiguration
            case nameTaken, cancelled, duplicateConnection, unknownType, downed, seedDown, pluginFailed
        }
        let value: Value

        /// The call's deadline passed before a reply arrived.
        public static let timeout = Code(value: .timeout)
        /// The node could not be reached (connection refused or failed recently).
        public static let nodeUnreachable = Code(value: .nodeUnreachable)
        /// The connection to the node closed while the call was in flight.
        public static let connectionLost = Code(value: .connectionLost)
        /// The node incarnation the actor lived on no longer exists (the node restarted).
        public static let nodeGone = Code(value: .nodeGone)
        /// No actor with that identity lives on the node.
        public static let unknownActor = Code(value: .unknownActor)
        /// The node does not know the call target (method).
        public static let unknownTarget = Code(value: .unknownTarget)
        /// An argument could not be decoded on the receiving node.
        public static let argumentDecodingFailed = Code(value: .argumentDecodingFailed)
        /// The reply could not be decoded by the caller.
        public static let resultDecodingFailed = Code(value: .resultDecodingFailed)
        /// An argument or result could not be encoded.
        public static let encodingFailed = Code(value: .encodingFailed)
        /// The remote actor threw an error that is not re-thrown as itself here.
        public static let remoteError = Code(value: .remoteError)
        /// The handshake with the peer failed.
        public static let handshakeFailed = Code(value: .handshakeFailed)
        /// The peer does not share the cluster secret.
        public static let authenticationFailed = Code(value: .authenticationFailed)
        /// The local or remote system is shutting down.
        public static let shuttingDown = Code(value: .shuttingDown)
        /// The peer broke the wire protocol.
        public static let protocolError = Code(value: .protocolError)
        /// The settings are not usable.
        public static let invalidConfiguration = Code(value: .invalidConfiguration)
        /// A well-known actor name is already in use on this node, or is reserved (`kumo.` names
        /// belong to system actors).
        public static let nameTaken = Code(value: .nameTaken)
        /// The calling task was cancelled.
        public static let cancelled = Code(value: .cancelled)
        /// The type is not registered (for remote spawn) on the node.
        public static let unknownType = Code(value: .unknownType)
        /// This node was declared down by the cluster and takes no further part in it.
        public static let downed = Code(value: .downed)
        /// Every seed a node tried to join through answered that it was downed by its cluster
        /// (and so takes no joins): the node could not start.
        public static let seedDown = Code(value: .seedDown)
        /// A plugin failed to start, so the node did not start (the message names the plugin).
        public static let pluginFailed = Code(value: .pluginFailed)
        /// A second connection to a peer was refused because the two nodes already share one.
        public static let duplicateConnection = Code(value: .duplicateConnection)

        var rawValue: UInt8 { value.rawValue }
        init(value: Value) { self.value = value }
        init(rawValue: UInt8) { self.value = Value(rawValue: rawValue) ?? .remoteError }

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A readable account of the failure.
    public var message: String
    /// The node where the failure happened, when known.
    public var node: NodeID?
    /// For ``Code/remoteError``: the fully qualified name of the type the remote actor threw.
    public var errorType: String?

    /// Creates a cluster error.
    public init(_ code: Code, _ message: String, node: NodeID? = nil, errorType: String? = nil) {
        self.code = code
        self.message = message
        self.node = node
        self.errorType = errorType
    }

    public var description: String {
        var text = "ClusterError.\(code): \(message)"
        if let errorType { text += " [\(errorType)]" }
        if let node { text += " (on node \(node))" }
        return text
    }

    public static func == (lhs: ClusterError, rhs: ClusterError) -> Bool { lhs.code == rhs.code }
}
