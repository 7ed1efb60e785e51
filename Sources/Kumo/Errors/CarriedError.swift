import KumoCore
import NIOCore

/// An error packed into a value, for protocols that return many outcomes in one reply (a batch of
/// jobs, say), where a thrown error could carry only one.
///
/// It travels exactly as an error thrown by a distributed func does: the receiver gets the error
/// back as itself when its type is `Codable` and known there, and otherwise a ``ClusterError``
/// with code ``ClusterError/Code/remoteError`` naming the original type and its description.
/// A name that is not a plain mangled name never reaches the runtime's type lookup.
public struct CarriedError: Sendable, Codable, CustomStringConvertible {
    private let code: UInt8
    private let node: NodeID
    private let errorType: String
    private let message: String
    private let payloadType: String?
    private let payload: [UInt8]?

    /// Packs `error`, thrown on `system`'s node.
    public init(_ error: any Error, on system: ClusterSystem) {
        let envelope = system.errorEnvelope(for: error)
        code = envelope.code
        node = envelope.node
        errorType = envelope.errorType
        message = envelope.message
        payloadType = envelope.payloadType
        payload = envelope.payload.map { Array($0.readableBytesView) }
    }

    /// The error as `system` re-throws it: itself when its type is `Codable` and known here, a
    /// ``ClusterError`` otherwise.
    public func error(on system: ClusterSystem) -> any Error {
        let envelope = RemoteErrorEnvelope(
            code: code, node: node, errorType: errorType, message: message, payloadType: payloadType,
            payload: payload.map { ByteBuffer(bytes: $0) })
        return system.remoteError(from: envelope)
    }

    /// The node the error was thrown on.
    public var thrownOn: NodeID { node }

    /// The description of the original error.
    public var description: String { message }
}
