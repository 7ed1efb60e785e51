import NIOCore

/// The kinds of frame in protocol version 2 (docs/wire.md has the body of each).
@usableFromInline
package enum FrameKind: UInt8, Sendable, CaseIterable {
    // Handshake.
    case hello = 0x01
    case challenge = 0x02
    case proof = 0x03
    case accepted = 0x04
    case reject = 0x05
    // Established connection.
    case call = 0x10
    case targetDefinition = 0x11
    case reply = 0x12
    case message = 0x13
    case chunk = 0x14
    case goodbye = 0x15
    case ping = 0x16
    case pong = 0x17
    case attached = 0x18
    case cancel = 0x19
}

/// One frame: its kind and its body (the bytes after the kind byte), and the byte arrays that
/// came with it when it arrived inside an `attached` frame (see ``AttachedFrame``).
package struct Frame: Sendable {
    /// The frame's kind.
    package var kind: FrameKind
    /// The frame's body.
    package var body: ByteBuffer
    /// The attachments its encoded values refer to (see `BinaryAttachments`); usually none.
    package var attachments: [[UInt8]]

    /// Creates a frame.
    package init(kind: FrameKind, body: ByteBuffer, attachments: [[UInt8]] = []) {
        self.kind = kind
        self.body = body
        self.attachments = attachments
    }

    /// Bytes before the body: the 4-byte length and the kind byte.
    package static let headerSize = 5
}

extension ByteBuffer {
    /// Starts a frame of `kind`: writes a placeholder length and the kind byte, and returns the
    /// index of the length, to pass to ``endFrame(startedAt:)`` once the body is written.
    @inlinable
    package mutating func beginFrame(_ kind: FrameKind) -> Int {
        let start = writerIndex
        writeInteger(UInt32(0))
        writeInteger(kind.rawValue)
        return start
    }

    /// Back-patches the length of the frame begun at `start`.
    @inlinable
    package mutating func endFrame(startedAt start: Int) {
        setInteger(UInt32(truncatingIfNeeded: writerIndex - start - 4), at: start)
    }
}

/// What ``FrameParser/nextItem(maximumMessageSize:)`` yields: a whole frame, or a piece of a chunk.
package enum WireItem: Sendable {
    /// A whole frame of any kind but `chunk`.
    case frame(Frame)
    /// A chunk frame, or the part of one that has arrived so far (see ``FrameParser``).
    case chunk(ChunkMessage)
}

/// Splits a byte stream into frames.
///
/// A pure value type: feed it the bytes of each read and take frames until it returns `nil`.
/// Frames hold slices of the bytes fed in (no copy) except for a frame split across reads,
/// which is gathered into a buffer of its own. A length above ``maxFrameSize`` or an unknown kind
/// throws: the connection is then beyond repair and must be closed.
///
/// ``nextItem(maximumMessageSize:)`` never gathers chunk frames: it hands on the payload of a
/// chunk as it arrives, as several ``ChunkMessage`` pieces whose first carries the chunk's
/// `isFirst` flag and whose last carries its `isLast` flag. The bytes of a large message are then
/// copied once, into the buffer that reassembles it. Use either ``next()`` or
/// ``nextItem(maximumMessageSize:)`` on one parser, not both.
package struct FrameParser: Sendable {
    /// The largest accepted frame (length prefix) in bytes.
    package let maxFrameSize: Int
    /// The bytes being parsed.
    private var pending: ByteBuffer?
    /// Bytes that follow `pending` in the stream, parsed once `pending` is used up: the rest of a
    /// read whose first bytes completed a frame begun in the read before.
    private var queued: ByteBuffer?
    /// The chunk frame whose payload is still arriving.
    private var chunkInProgress: (stream: UInt64, isLast: Bool, remaining: Int)?

    /// The most bytes a chunk frame has before its payload: the length prefix, the kind, and a
    /// header of two varints and a flags byte.
    private static let chunkHeaderLimit = 4 + 1 + 10 + 1 + 10
    /// Leftovers up to this size are copied into a buffer of their own before a read completes them.
    private static let copyLimit = 4096

    /// Creates a parser that refuses frames longer than `maxFrameSize` bytes.
    package init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes held back waiting for the rest of a frame.
    package var bufferedBytes: Int { (pending?.readableBytes ?? 0) + (queued?.readableBytes ?? 0) }

    /// Adds the bytes of one read.
    ///
    /// A read usually ends inside a frame. The next read then completes that frame: only the
    /// bytes the frame lacks are copied (into a buffer with its first part), and the rest of the
    /// read is parsed where it lies. (Appending the whole read to the leftover copied every byte
    /// received once more.)
    package mutating func append(_ bytes: ByteBuffer) {
        guard var gathered = pending, gathered.readableBytes > 0 else {
            pending = bytes
            return
        }
        pending = nil  // keep the storage uniquely referenced while appending
        if var rest = queued {
            // Not expected (the reader takes every frame before the next read): keep the order.
            pending = gathered
            queued = nil
            rest.writeImmutableBuffer(bytes)
            queued = rest
            return
        }
        var rest = bytes
        var copied = false
        while rest.readableBytes > 0 {
            let wanted = Self.bytesWanted(by: gathered, maximum: maxFrameSize)
            guard wanted > 0 else { break }
            guard var piece = rest.readSlice(length: min(wanted, rest.readableBytes)) else { break }
            // A small leftover is a slice of the last read, whose storage the frames taken from
            // it share: it moves to a buffer of its own (writing to it would copy that storage).
            // A large one is the buffer `next()` made for a long frame, filled in place.
            if gathered.writableBytes < piece.readableBytes || (!copied && gathered.readableBytes <= Self.copyLimit) {
                // One allocation for what is known to be needed, not a copy per growth.
                var own = ByteBufferAllocator().buffer(capacity: gathered.readableBytes + max(wanted, 64))
                own.writeImmutableBuffer(gathered)
                gathered = own
                copied = true
            }
            gathered.writeBuffer(&piece)
        }
        pending = gathered
        queued = rest.readableBytes > 0 ? rest : nil
    }

    /// How many more bytes the partial frame at the front of `buffer` needs before it can be
    /// taken: to show its length and kind, then the rest of a frame, or the header of a chunk
    /// frame (whose payload is handed on as it arrives). Beyond the frame's end when the frame is
    /// shorter than a chunk header: the next frame's bytes then follow it in the same buffer.
    private static func bytesWanted(by buffer: ByteBuffer, maximum: Int) -> Int {
        let have = buffer.readableBytes
        guard have >= 5, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return 5 - have
        }
        // A length the parser refuses: nothing more is needed to refuse it.
        guard length >= 1, length <= maximum else { return 0 }
        let isChunk = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self) == FrameKind.chunk.rawValue
        let end = isChunk ? min(Int(length) + 4, chunkHeaderLimit) : Int(length) + 4
        return max(0, end - have)
    }

    /// Moves the queued bytes up once the pending ones are used.
    private mutating func promoteQueued() {
        if let queued, (pending?.readableBytes ?? 0) == 0 {
            pending = queued
            self.queued = nil
        }
    }

    /// The next complete frame, or `nil` when more bytes are needed.
    package mutating func next() throws(WireError) -> Frame? {
        promoteQueued()
        guard var buffer = pending, let length = try Self.frameLength(of: buffer, maximum: maxFrameSize) else {
            return nil
        }
        guard buffer.readableBytes >= length + 4 else {
            // Make room for the rest of the frame in one allocation, not many.
            if buffer.capacity - buffer.readerIndex < length + 4 {
                pending = nil
                var gathered = ByteBufferAllocator().buffer(capacity: length + 4)
                gathered.writeBuffer(&buffer)
                pending = gathered
            }
            return nil
        }
        buffer.moveReaderIndex(forwardBy: 4)
        let kindByte = buffer.readInteger(as: UInt8.self) ?? 0
        guard let kind = FrameKind(rawValue: kindByte) else {
            throw WireError(.unknownFrameKind, "unknown frame kind 0x\(String(kindByte, radix: 16))")
        }
        let body = buffer.readSlice(length: length - 1) ?? ByteBuffer()
        pending = buffer.readableBytes > 0 ? buffer : nil
        return Frame(kind: kind, body: body)
    }

    /// The next whole frame or piece of a chunk, or `nil` when more bytes are needed. Chunk
    /// headers are checked against `maximumMessageSize` as ``ChunkMessage/init(body:maximumTotal:)``
    /// does.
    package mutating func nextItem(maximumMessageSize: Int) throws(WireError) -> WireItem? {
        promoteQueued()
        if let partial = chunkInProgress {
            guard var buffer = pending, buffer.readableBytes > 0 else { return nil }
            let count = min(partial.remaining, buffer.readableBytes)
            let bytes = buffer.readSlice(length: count) ?? ByteBuffer()
            pending = buffer.readableBytes > 0 ? buffer : nil
            let remaining = partial.remaining - count
            chunkInProgress = remaining > 0 ? (partial.stream, partial.isLast, remaining) : nil
            return .chunk(ChunkMessage(
                stream: partial.stream, isFirst: false, isLast: partial.isLast && remaining == 0, totalLength: nil,
                bytes: bytes))
        }
        guard let buffer = pending, let length = try Self.frameLength(of: buffer, maximum: maxFrameSize) else {
            return nil
        }
        let isChunk = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self) == FrameKind.chunk.rawValue
        guard isChunk, buffer.readableBytes < length + 4 else {
            // A whole frame, or the start of one that is not a chunk: gathered as by `next()`.
            guard let frame = try next() else { return nil }
            guard frame.kind == .chunk else { return .frame(frame) }
            return .chunk(try ChunkMessage(body: frame.body, maximumTotal: maximumMessageSize))
        }
        // The start of a chunk frame: hand on the payload that has arrived once the chunk header
        // has (a header is at most 21 bytes; until then, wait for more).
        var body = buffer
        body.moveReaderIndex(forwardBy: 5)
        let arrived = body.readableBytes
        let first: ChunkMessage
        do {
            first = try ChunkMessage(body: body, maximumTotal: maximumMessageSize)
        } catch where error.code == .truncated {
            return nil
        }
        let payloadLength = length - 1 - (arrived - first.bytes.readableBytes)
        pending = nil
        chunkInProgress = (first.stream, first.isLast, payloadLength - first.bytes.readableBytes)
        return .chunk(ChunkMessage(
            stream: first.stream, isFirst: first.isFirst, isLast: false, totalLength: first.totalLength,
            bytes: first.bytes))
    }

    /// The length of the frame at the front of `buffer` (after its 4-byte prefix), or `nil` if
    /// the prefix has not arrived.
    private static func frameLength(of buffer: ByteBuffer, maximum: Int) throws(WireError) -> Int? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= 1 else {
            throw WireError(.malformed, "frame length 0 (a frame has at least its kind byte)")
        }
        guard length <= maximum else {
            throw WireError(.frameTooLarge, "frame length \(length) exceeds the maximum \(maximum)")
        }
        return Int(length)
    }
}
