import NIOCore

/// The kinds of frame in protocol version 1 (docs/wire.md has the body of each).
public enum FrameKind: UInt8, Sendable, CaseIterable {
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
}

/// One frame: its kind and its body (the bytes after the kind byte).
public struct Frame: Sendable {
    /// The frame's kind.
    public var kind: FrameKind
    /// The frame's body.
    public var body: ByteBuffer

    /// Creates a frame.
    public init(kind: FrameKind, body: ByteBuffer) {
        self.kind = kind
        self.body = body
    }

    /// Bytes before the body: the 4-byte length and the kind byte.
    public static let headerSize = 5
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

/// Splits a byte stream into frames.
///
/// A pure value type: feed it the bytes of each read and take frames until it returns `nil`.
/// Frames hold slices of the bytes fed in (no copy) except for a frame split across reads,
/// which is gathered into a buffer of its own. A length above ``maxFrameSize`` or an unknown kind
/// throws: the connection is then beyond repair and must be closed.
public struct FrameParser: Sendable {
    /// The largest accepted frame (length prefix) in bytes.
    public let maxFrameSize: Int
    private var pending: ByteBuffer?

    /// Creates a parser that refuses frames longer than `maxFrameSize` bytes.
    public init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes held back waiting for the rest of a frame.
    public var bufferedBytes: Int { pending?.readableBytes ?? 0 }

    /// Adds the bytes of one read.
    public mutating func append(_ bytes: ByteBuffer) {
        if var pending = self.pending, pending.readableBytes > 0 {
            self.pending = nil  // keep the storage uniquely referenced while appending
            pending.writeImmutableBuffer(bytes)
            self.pending = pending
        } else {
            self.pending = bytes
        }
    }

    /// The next complete frame, or `nil` when more bytes are needed.
    public mutating func next() throws(WireError) -> Frame? {
        guard var buffer = pending else { return nil }
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return nil
        }
        guard length >= 1 else {
            throw WireError(.malformed, "frame length 0 (a frame has at least its kind byte)")
        }
        guard length <= maxFrameSize else {
            throw WireError(.frameTooLarge, "frame length \(length) exceeds the maximum \(maxFrameSize)")
        }
        guard buffer.readableBytes >= Int(length) + 4 else {
            // Make room for the rest of the frame in one allocation, not many.
            if buffer.capacity - buffer.readerIndex < Int(length) + 4 {
                pending = nil
                var gathered = ByteBufferAllocator().buffer(capacity: Int(length) + 4)
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
        let body = buffer.readSlice(length: Int(length) - 1) ?? ByteBuffer()
        pending = buffer.readableBytes > 0 ? buffer : nil
        return Frame(kind: kind, body: body)
    }
}
