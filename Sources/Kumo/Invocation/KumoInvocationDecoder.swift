import Distributed
import KumoCore
import NIOCore

/// Hands the arguments of an inbound call to the distributed thunk, decoding each one on demand.
public struct KumoInvocationDecoder: DistributedTargetInvocationDecoder, Sendable {
    public typealias SerializationRequirement = any Codable

    let system: ClusterSystem
    let call: CallMessage
    let target: InboundTarget
    var nextArgument = 0
    var arguments: CallArguments.Iterator
    /// The byte arrays the arguments left out; each is taken by the argument that refers to it.
    let attachments: BinaryAttachments?

    init(system: ClusterSystem, call: CallMessage, target: InboundTarget) {
        // The arrays move into the store, so the call holds no reference to the one an
        // argument takes (the node's array cache may, see `reuseReceivedArrays`).
        var call = call
        let attachments = call.attachments
        call.attachments = []
        self.system = system
        self.call = call
        self.target = target
        self.arguments = call.arguments.makeIterator()
        self.attachments = attachments.isEmpty ? nil : BinaryAttachments(attachments)
    }

    public mutating func decodeGenericSubstitutions() throws -> [any Any.Type] {
        try call.substitutions.map { name in
            guard MangledName.isPlain(name), let type = _typeByName(name) else {
                throw ClusterError(
                    .argumentDecodingFailed, "unknown generic substitution type '\(name)' in a call to \(target.readableName)",
                    node: system.node)
            }
            return type
        }
    }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        let index = nextArgument
        nextArgument += 1
        guard let bytes = arguments.next() else {
            throw ClusterError(
                .argumentDecodingFailed,
                "call to \(target.readableName) carries \(call.arguments.count) arguments; argument \(index + 1) (\(Argument.self)) is missing",
                node: system.node)
        }
        do {
            return try system.makeDecoder().decode(Argument.self, from: bytes, attachments: attachments)
        } catch {
            throw ClusterError(
                .argumentDecodingFailed,
                "cannot decode argument \(index + 1) of \(target.readableName) as \(Argument.self): \(describe(error))",
                node: system.node)
        }
    }

    public mutating func decodeErrorType() throws -> (any Any.Type)? { nil }

    public mutating func decodeReturnType() throws -> (any Any.Type)? { nil }
}

/// A readable account of a coding error, naming the field path.
func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
        DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "field '\(path)': \(context.debugDescription)"
    default:
        return "\(error)"
    }
}
