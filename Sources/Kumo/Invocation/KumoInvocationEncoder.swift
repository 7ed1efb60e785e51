import Distributed
import KumoCore
import NIOCore

/// Records a remote call's generic substitutions and arguments in Kumo's binary format.
///
/// Arguments are encoded straight into the buffer that becomes the call frame: the encoder leaves
/// room at the front for the frame header, so the call is sent without copying its arguments.
/// Byte arrays longer than the bulk threshold, wherever they occur in the arguments, are not
/// copied at all: they become attachments of the frame (`BinaryAttachments`), sent from their own
/// storage. Another argument known to be large (see `EncodedSizeHint` in KumoCore), and every
/// argument after it, is encoded later, on the ``BulkExecutor``, just before the call is sent.
public struct KumoInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    /// Bytes reserved in front of the arguments for the frame header.
    static let headroom = 160

    var buffer: ByteBuffer
    var substitutions: [String] = []
    var argumentCount = 0
    /// Arguments larger than this are encoded on the bulk executor.
    let bulkThreshold: Int
    /// Encodings of large arguments (and of those after them), in order, waiting for
    /// ``encodeDeferredArguments()``.
    private var deferred: [(inout ByteBuffer, inout [[UInt8]]) throws -> Void] = []
    /// The byte arrays the arguments left out, in the order their references were written.
    var attachments: [[UInt8]] = []

    init(bulkThreshold: Int = .max) {
        self.bulkThreshold = bulkThreshold
        buffer = ByteBufferAllocator().buffer(capacity: 256)
        buffer.moveWriterIndex(forwardBy: Self.headroom)
        buffer.moveReaderIndex(forwardBy: Self.headroom)
    }

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        substitutions.append(_mangledTypeName(type) ?? String(reflecting: type))
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        argumentCount += 1
        let size = EncodedSizeHint.of(argument.value, attachingAbove: bulkThreshold) ?? 0
        let threshold = bulkThreshold
        if deferred.isEmpty && size <= bulkThreshold {
            try Self.encode(argument, into: &buffer, attachments: &attachments, threshold: threshold)
        } else {
            deferred.append { buffer, attachments in
                buffer.reserveCapacity(minimumWritableBytes: size + 16)
                try Self.encode(argument, into: &buffer, attachments: &attachments, threshold: threshold)
            }
        }
    }

    /// Whether some arguments wait for ``encodeDeferredArguments()``.
    var hasDeferredArguments: Bool { !deferred.isEmpty }

    /// Encodes the arguments that were too large to encode when recorded.
    mutating func encodeDeferredArguments() throws {
        let pending = deferred
        deferred = []
        for encode in pending { try encode(&buffer, &attachments) }
    }

    private static func encode<Value: Codable>(
        _ argument: RemoteCallArgument<Value>, into buffer: inout ByteBuffer, attachments: inout [[UInt8]], threshold: Int
    ) throws {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        do {
            var encoder = BinaryEncoder()
            encoder.attachmentThreshold = threshold
            try encoder.encode(argument.value, into: &buffer, attachments: &attachments)
        } catch {
            throw ClusterError(
                .encodingFailed, "cannot encode argument '\(argument.effectiveLabel)' of type \(Value.self): \(error)")
        }
        buffer.setInteger(UInt32(truncatingIfNeeded: buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}

    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}

    public mutating func doneRecording() throws {}

    /// Turns the recorded arguments into a whole call frame (an attached one when arguments left
    /// byte arrays out), writing the header into the headroom when it fits (it nearly always
    /// does) and copying otherwise. Consumes the arguments: call it once.
    mutating func makeFrame(
        callID: UInt64, target: UInt32, actor: ActorID.Path, deadlineMillis: UInt64, metadata: CallMetadata
    ) -> OutboundFrame {
        OutboundFrame.wrapping(
            makeCallFrame(callID: callID, target: target, actor: actor, deadlineMillis: deadlineMillis, metadata: metadata),
            attachments: attachments)
    }

    /// Takes the arguments' buffer out of the encoder (so it is not shared and writing the header
    /// into its headroom copies nothing) and writes the call header in front of them.
    private mutating func makeCallFrame(
        callID: UInt64, target: UInt32, actor: ActorID.Path, deadlineMillis: UInt64, metadata: CallMetadata
    ) -> ByteBuffer {
        assert(deferred.isEmpty, "encodeDeferredArguments() must run before makeFrame")
        var arguments = ByteBuffer()
        swap(&arguments, &buffer)
        if metadata.isEmpty && substitutions.isEmpty {
            // Most calls: the head is written straight into the headroom, without a buffer.
            let size = CallMessage.plainHeadSize(
                callID: callID, target: target, actor: actor, deadlineMillis: deadlineMillis, argumentCount: argumentCount)
            if size <= arguments.readerIndex {
                let frameLength = size - 4 + arguments.readableBytes
                arguments.moveReaderIndex(to: arguments.readerIndex - size)
                arguments.withUnsafeMutableReadableBytes { bytes in
                    CallMessage.writePlainHead(
                        callID: callID, target: target, actor: actor, deadlineMillis: deadlineMillis,
                        argumentCount: argumentCount, frameLength: frameLength,
                        to: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<size]))
                }
                return arguments
            }
        }
        var header = ByteBufferAllocator().buffer(capacity: 64)
        let start = header.beginFrame(.call)
        CallMessage.writeHeader(
            callID: callID, flags: CallMessage.Flags(rawValue: 0), target: target, actor: actor, deadlineMillis: deadlineMillis,
            metadata: metadata, substitutions: substitutions, to: &header)
        header.writeWireVarint(argumentCount)
        let frameLength = header.readableBytes - 4 + arguments.readableBytes
        header.setInteger(UInt32(truncatingIfNeeded: frameLength), at: start)
        if header.readableBytes <= arguments.readerIndex {
            let newStart = arguments.readerIndex - header.readableBytes
            arguments.setBuffer(header, at: newStart)
            arguments.moveReaderIndex(to: newStart)
            return arguments
        }
        header.writeImmutableBuffer(arguments)
        return header
    }
}

extension RemoteCallArgument {
    var effectiveLabel: String { label ?? name }
}
