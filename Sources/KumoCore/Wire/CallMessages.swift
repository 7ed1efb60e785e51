import NIOCore

/// The encoded arguments of a call as they lie in its frame: each one a `UInt32` length and its
/// bytes. Iterating yields each argument's bytes as a slice, with no allocation.
package struct CallArguments: Sendable, Sequence {
    /// How many arguments there are.
    package let count: Int
    /// The arguments with their length prefixes (already checked to be well formed).
    package let bytes: ByteBuffer

    /// Arguments already checked by ``CallMessage/init(body:)``.
    package init(count: Int, bytes: ByteBuffer) {
        self.count = count
        self.bytes = bytes
    }

    /// An iterator over the arguments' bytes, in order.
    package func makeIterator() -> Iterator {
        Iterator(remaining: bytes)
    }

    /// Yields the arguments in order.
    package struct Iterator: IteratorProtocol, Sendable {
        var remaining: ByteBuffer

        /// The next argument's bytes, or `nil` after the last.
        package mutating func next() -> ByteBuffer? {
            guard let length = remaining.readInteger(as: UInt32.self) else { return nil }
            return remaining.readSlice(length: Int(length))
        }
    }
}

/// The body of a `call` frame, parsed: everything before the arguments, plus the arguments as
/// slices of the frame (no copy).
///
/// Layout: `callID varint | flags u8 | target varint | actorPath | deadlineMillis varint |
/// metadata (count varint | (key string | length varint | bytes)*) |
/// substitutionCount varint | substitution* string | argumentCount varint |
/// argument* (u32 big-endian length, bytes)`.
package struct CallMessage: Sendable {
    /// Flags of a call.
    package struct Flags: OptionSet, Sendable, Hashable {
        package let rawValue: UInt8
        package init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The caller awaits no reply (reserved for one-way calls).
        package static let oneWay = Flags(rawValue: 1)
    }

    /// The caller's id for this call on this connection; the reply carries it back.
    package var callID: UInt64
    /// Call flags.
    package var flags: Flags
    /// The interned id of the call target (see `targetDefinition` frames).
    package var target: UInt32
    /// The actor to call, on the receiving node.
    package var actor: ActorID.Path
    /// Milliseconds left until the caller gives up, when the call was sent; 0 means none.
    package var deadlineMillis: UInt64
    /// The call's metadata (trace context, job ids, …).
    package var metadata: CallMetadata
    /// What is wrong with the metadata, when it is well formed but breaks a bound: the call
    /// must be refused (``metadata`` is then empty).
    package var metadataViolation: String?
    /// Stable names of the generic substitutions, in order.
    package var substitutions: [String]
    /// The encoded arguments, in order.
    package var arguments: CallArguments
    /// The byte arrays the arguments left out, when the call came in an `attached` frame.
    package var attachments: [[UInt8]] = []

    /// The largest number of arguments or substitutions a call may carry.
    package static let maximumArguments = 1024

    /// Parses a call body.
    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        callID = try body.readWireVarint()
        flags = Flags(rawValue: try body.readWireInteger(as: UInt8.self, "call flags"))
        target = UInt32(try body.readWireLength(limit: Int(UInt32.max), "target id"))
        actor = try body.readWireActorPath()
        deadlineMillis = try body.readWireVarint()
        (metadata, metadataViolation) = try CallMetadata.read(from: &body)
        let substitutionCount = try body.readWireLength(limit: Self.maximumArguments, "substitution count")
        var substitutions: [String] = []
        substitutions.reserveCapacity(substitutionCount)
        for _ in 0..<substitutionCount {
            substitutions.append(try body.readWireString("generic substitution"))
        }
        self.substitutions = substitutions
        let argumentCount = try body.readWireLength(limit: Self.maximumArguments, "argument count")
        // Checked here, walked again (without copying) by whoever decodes the arguments.
        let argumentBytes = body
        for index in 0..<argumentCount {
            let length = try body.readWireInteger(as: UInt32.self, "length of argument \(index)")
            guard body.readableBytes >= Int(length) else {
                throw WireError(.truncated, "argument \(index) ends early")
            }
            body.moveReaderIndex(forwardBy: Int(length))
        }
        guard body.readableBytes == 0 else {
            throw WireError(.malformed, "\(body.readableBytes) stray bytes after the last argument")
        }
        self.arguments = CallArguments(count: argumentCount, bytes: argumentBytes)
    }

    /// The whole head of a call frame — length prefix, kind, the header, and the argument count —
    /// written into `out`, which must be exactly ``plainHeadSize(callID:target:actor:deadlineMillis:argumentCount:)``
    /// bytes, for a call with no metadata and no generic substitutions (most calls): the same
    /// bytes as ``ByteBuffer/beginFrame(_:)`` then ``writeHeader(callID:flags:target:actor:deadlineMillis:metadata:substitutions:to:)``
    /// write, without a buffer of their own. `frameLength` is the length the prefix carries.
    package static func writePlainHead(
        callID: UInt64, target: UInt32, actor: ActorID.Path, deadlineMillis: UInt64, argumentCount: Int,
        frameLength: Int, to out: UnsafeMutableRawBufferPointer
    ) {
        var writer = RawWireWriter(out)
        writer.bigEndian(UInt32(truncatingIfNeeded: frameLength))
        writer.byte(FrameKind.call.rawValue)
        writer.varint(callID)
        writer.byte(0)  // flags
        writer.varint(UInt64(target))
        switch actor.storage {
        case .number(let number):
            writer.byte(0)
            writer.varint(number)
        case .name(let name):
            writer.byte(1)
            writer.varint(UInt64(name.utf8.count))
            writer.utf8(name)
        }
        writer.varint(deadlineMillis)
        writer.byte(0)  // no metadata entries
        writer.byte(0)  // no substitutions
        writer.varint(UInt64(argumentCount))
        assert(writer.offset == out.count, "the head's size was miscounted")
    }

    /// The size of the head ``writePlainHead(callID:target:actor:deadlineMillis:argumentCount:frameLength:to:)`` writes.
    package static func plainHeadSize(
        callID: UInt64, target: UInt32, actor: ActorID.Path, deadlineMillis: UInt64, argumentCount: Int
    ) -> Int {
        let path: Int
        switch actor.storage {
        case .number(let number): path = 1 + RawWireWriter.varintSize(number)
        case .name(let name):
            let count = name.utf8.count
            path = 1 + RawWireWriter.varintSize(UInt64(count)) + count
        }
        return 4 + 1 + RawWireWriter.varintSize(callID) + 1 + RawWireWriter.varintSize(UInt64(target)) + path
            + RawWireWriter.varintSize(deadlineMillis) + 1 + 1 + RawWireWriter.varintSize(UInt64(argumentCount))
    }

    /// Writes the part of a call body before the arguments (without the argument count).
    package static func writeHeader(
        callID: UInt64, flags: Flags, target: UInt32, actor: ActorID.Path, deadlineMillis: UInt64,
        metadata: CallMetadata, substitutions: [String], to buffer: inout ByteBuffer
    ) {
        buffer.writeWireVarint(callID)
        buffer.writeInteger(flags.rawValue)
        buffer.writeWireVarint(UInt64(target))
        buffer.writeWireActorPath(actor)
        buffer.writeWireVarint(deadlineMillis)
        metadata.write(to: &buffer)
        buffer.writeWireVarint(substitutions.count)
        for name in substitutions { buffer.writeWireString(name) }
    }
}

/// A `cancel` frame: the caller of call `callID` (on this connection, in the other direction)
/// gave up on it because its task was cancelled; the callee's task is cancelled in turn.
///
/// Layout: `callID varint`. A cancel for a call that is not running (it finished, or never
/// existed) is ignored.
package struct CancelMessage: Sendable, Hashable {
    package var callID: UInt64

    package init(callID: UInt64) {
        self.callID = callID
    }

    /// Appends the whole frame.
    package func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.cancel)
        buffer.writeWireVarint(callID)
        buffer.endFrame(startedAt: start)
    }

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        callID = try body.readWireVarint()
        guard body.readableBytes == 0 else {
            throw WireError(.malformed, "\(body.readableBytes) stray bytes after a cancel's call id")
        }
    }
}

/// A `targetDefinition` frame: binds a per-connection id to a call target's name.
///
/// Layout: `id varint | name string`. Sent once per connection and target, before the first
/// call that uses the id.
package struct TargetDefinitionMessage: Sendable, Hashable {
    package var id: UInt32
    package var name: String

    package init(id: UInt32, name: String) {
        self.id = id
        self.name = name
    }

    package func write(to buffer: inout ByteBuffer) {
        let start = buffer.beginFrame(.targetDefinition)
        buffer.writeWireVarint(UInt64(id))
        buffer.writeWireString(name)
        buffer.endFrame(startedAt: start)
    }

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        id = UInt32(try body.readWireLength(limit: Int(UInt32.max), "target id"))
        name = try body.readWireString("target name")
    }
}

/// The status byte of a reply.
package enum ReplyStatus: UInt8, Sendable {
    /// The call returned a value; the payload is its encoding.
    case value = 0
    /// The call returned `Void`; no payload.
    case void = 1
    /// The call failed; the payload is a ``RemoteErrorEnvelope``.
    case error = 2
}

/// The header of a `reply` frame: `callID varint | status u8`, then the payload.
package struct ReplyMessage: Sendable {
    package var callID: UInt64
    package var status: ReplyStatus
    package var payload: ByteBuffer
    /// The byte arrays the payload left out, when the reply came in an `attached` frame.
    package var attachments: [[UInt8]] = []

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        callID = try body.readWireVarint()
        let raw = try body.readWireInteger(as: UInt8.self, "reply status")
        guard let status = ReplyStatus(rawValue: raw) else {
            throw WireError(.malformed, "unknown reply status \(raw)")
        }
        self.status = status
        payload = body
    }

    /// Begins a reply frame; the caller appends the payload and ends the frame.
    package static func begin(callID: UInt64, status: ReplyStatus, in buffer: inout ByteBuffer) -> Int {
        let start = buffer.beginFrame(.reply)
        buffer.writeWireVarint(callID)
        buffer.writeInteger(status.rawValue)
        return start
    }
}

/// A failed call as it crosses the wire.
///
/// Layout: `code u8 | node | errorType string | message string | hasPayload u8 |
/// [payloadType string | payload varint-length bytes]`. When the thrown error's type is
/// `Codable`, the payload is its binary encoding and `payloadType` the name the caller resolves the
/// type by, so the caller can re-throw it as itself.
package struct RemoteErrorEnvelope: Sendable {
    package var code: UInt8
    package var node: NodeID
    package var errorType: String
    package var message: String
    package var payloadType: String?
    package var payload: ByteBuffer?

    package init(code: UInt8, node: NodeID, errorType: String, message: String, payloadType: String? = nil, payload: ByteBuffer? = nil) {
        self.code = code
        self.node = node
        self.errorType = errorType
        self.message = message
        self.payloadType = payloadType
        self.payload = payload
    }

    package func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(code)
        buffer.writeWireNodeID(node)
        buffer.writeWireString(errorType)
        buffer.writeWireString(message)
        if let payload, let payloadType {
            buffer.writeInteger(UInt8(1))
            buffer.writeWireString(payloadType)
            buffer.writeWireVarint(payload.readableBytes)
            buffer.writeImmutableBuffer(payload)
        } else {
            buffer.writeInteger(UInt8(0))
        }
    }

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        code = try body.readWireInteger(as: UInt8.self, "error code")
        node = try body.readWireNodeID()
        errorType = try body.readWireString("error type")
        message = try body.readWireString("error message")
        if try body.readWireInteger(as: UInt8.self, "error payload flag") == 1 {
            payloadType = try body.readWireString("error payload type")
            let length = try body.readWireLength(limit: body.readableBytes, "error payload length")
            payload = try body.readWireSlice(length, "error payload")
        } else {
            payloadType = nil
            payload = nil
        }
    }
}

/// A `message` frame: a one-way message to a port. Layout: `port varint | payload`.
package struct PortMessage: Sendable {
    package var port: UInt64
    package var payload: ByteBuffer

    package init(body: ByteBuffer) throws(WireError) {
        var body = body
        port = try body.readWireVarint()
        payload = body
    }
}

/// A `chunk` frame: one piece of a large frame sent in pieces so small frames can pass between.
///
/// Layout: `stream varint | flags u8 (1 = first, 2 = last) | [total length varint, if first] |
/// bytes`. The pieces of one stream, concatenated, are a whole frame (length prefix included).
package struct ChunkMessage: Sendable {
    package static let firstFlag: UInt8 = 1
    package static let lastFlag: UInt8 = 2

    package var stream: UInt64
    package var isFirst: Bool
    package var isLast: Bool
    /// The length of the whole frame, on the first chunk.
    package var totalLength: Int?
    package var bytes: ByteBuffer

    /// A chunk (or a piece of one) with the given fields.
    package init(stream: UInt64, isFirst: Bool, isLast: Bool, totalLength: Int?, bytes: ByteBuffer) {
        self.stream = stream
        self.isFirst = isFirst
        self.isLast = isLast
        self.totalLength = totalLength
        self.bytes = bytes
    }

    /// Parses the body of a chunk frame.
    package init(body: ByteBuffer, maximumTotal: Int) throws(WireError) {
        var body = body
        stream = try body.readWireVarint()
        let flags = try body.readWireInteger(as: UInt8.self, "chunk flags")
        isFirst = flags & Self.firstFlag != 0
        isLast = flags & Self.lastFlag != 0
        totalLength = isFirst ? try body.readWireLength(limit: maximumTotal, "chunked frame length") : nil
        bytes = body
    }

    /// Writes a chunk frame header; `bytes.count` bytes of payload must follow.
    package static func writeHeader(
        stream: UInt64, isFirst: Bool, isLast: Bool, totalLength: Int, payloadLength: Int, to buffer: inout ByteBuffer
    ) {
        var header = ByteBuffer()
        header.writeWireVarint(stream)
        header.writeInteger((isFirst ? firstFlag : 0) | (isLast ? lastFlag : 0))
        if isFirst { header.writeWireVarint(totalLength) }
        buffer.writeInteger(UInt32(1 + header.readableBytes + payloadLength))
        buffer.writeInteger(FrameKind.chunk.rawValue)
        buffer.writeBuffer(&header)
    }
}
