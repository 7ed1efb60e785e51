import NIOCore

/// An `attached` frame: a call, reply or message frame whose encoded values left their large byte
/// arrays out (see `BinaryAttachments`), followed by those arrays' raw bytes.
///
/// Layout: `count varint | length varint * count | inner frame (length u32 | kind u8 | body) |
/// the attachments' bytes, in order`. The attachments are not copied into an encoding on the
/// sender, and the receiver streams their bytes straight into the arrays it hands the decoder.
package enum AttachedFrame {
    /// The most attachments one frame may carry.
    package static let maximumAttachments = 4096

    /// The most bytes of an attached frame before its inner frame: the outer length and kind,
    /// the count and every length.
    package static let maximumHeaderSize = Frame.headerSize + 10 * (maximumAttachments + 1)

    /// Whether frames of `kind` may travel inside an attached frame.
    package static func carries(_ kind: FrameKind) -> Bool {
        kind == .call || kind == .reply || kind == .message
    }

    /// Writes the part of an attached frame before its inner frame: the outer length prefix (which
    /// counts the inner frame and the attachments too), the kind, and the attachments' lengths.
    ///
    /// - Parameters:
    ///   - innerFrameLength: The inner frame's bytes, its own length prefix included.
    ///   - attachmentLengths: The byte count of each attachment, in order.
    package static func writeHeader(innerFrameLength: Int, attachmentLengths: [Int], to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(FrameKind.attached.rawValue)
        buffer.writeWireVarint(attachmentLengths.count)
        for length in attachmentLengths { buffer.writeWireVarint(length) }
        let total = buffer.writerIndex - start - 4 + innerFrameLength + attachmentLengths.reduce(0, +)
        buffer.setInteger(UInt32(truncatingIfNeeded: total), at: start)
    }

    /// Where the parts of an attached frame lie, read from its first bytes.
    package struct Layout: Sendable, Equatable {
        /// Bytes before the attachments: the header, the inner frame and its prefix.
        package var headLength: Int
        /// The byte count of each attachment, in order.
        package var attachmentLengths: [Int]
        /// Bytes of the header before the inner frame.
        package var headerSize: Int
    }

    /// Reads the layout of the attached frame whose bytes (from its length prefix on) begin
    /// `prefix`; `nil` while `prefix` is too short to tell.
    ///
    /// - Throws: `WireError` when the header is malformed or its lengths do not add up to the
    ///   frame's length, or the inner frame is larger than `maximumInnerFrameSize`.
    package static func layout(of prefix: ByteBuffer, maximumInnerFrameSize: Int) throws(WireError) -> Layout? {
        var bytes = prefix
        guard let outerLength = bytes.readInteger(as: UInt32.self), let kind = bytes.readInteger(as: UInt8.self) else {
            return nil
        }
        guard kind == FrameKind.attached.rawValue else {
            throw WireError(.malformed, "not an attached frame (kind 0x\(String(kind, radix: 16)))")
        }
        return try layout(afterKind: bytes, total: Int(outerLength) + 4, maximumInnerFrameSize: maximumInnerFrameSize)
    }

    /// The layout read from the bytes after the kind byte of an attached frame of `total` bytes
    /// (length prefix included).
    private static func layout(afterKind body: ByteBuffer, total: Int, maximumInnerFrameSize: Int) throws(WireError) -> Layout? {
        var bytes = body
        do throws(WireError) {
            let count = try bytes.readWireLength(limit: maximumAttachments, "attachment count")
            var lengths: [Int] = []
            lengths.reserveCapacity(count)
            var attached = 0
            for index in 0..<count {
                let length = try bytes.readWireLength(limit: total, "length of attachment \(index)")
                attached += length
                lengths.append(length)
            }
            let headerSize = Frame.headerSize + bytes.readerIndex - body.readerIndex
            guard let innerLength = bytes.readInteger(as: UInt32.self) else { return nil }
            guard innerLength >= 1, Int(innerLength) <= maximumInnerFrameSize else {
                throw WireError(.malformed, "attached frame holds an inner frame of \(innerLength) bytes")
            }
            let headLength = headerSize + 4 + Int(innerLength)
            guard headLength + attached == total else {
                throw WireError(
                    .malformed,
                    "attached frame of \(total) bytes holds \(headLength) bytes of frame and \(attached) of attachments")
            }
            return Layout(headLength: headLength, attachmentLengths: lengths, headerSize: headerSize)
        } catch where error.code == .truncated {
            return nil
        }
    }

    /// The inner frame of an attached frame, from the bytes of its head (``Layout/headLength``
    /// bytes from the length prefix on), with `attachments`.
    package static func innerFrame(head: ByteBuffer, layout: Layout, attachments: [[UInt8]]) throws(WireError) -> Frame {
        var inner = head
        inner.moveReaderIndex(forwardBy: layout.headerSize)
        return try innerFrame(inner, attachments: attachments)
    }

    /// The frame whose bytes (length prefix included) are all of `bytes`, checked to be one that
    /// may carry attachments.
    private static func innerFrame(_ bytes: ByteBuffer, attachments: [[UInt8]]) throws(WireError) -> Frame {
        var parser = FrameParser(maxFrameSize: bytes.readableBytes)
        parser.append(bytes)
        guard let frame = try parser.next(), parser.bufferedBytes == 0 else {
            throw WireError(.malformed, "an attached frame's head is not one whole frame")
        }
        guard carries(frame.kind) else {
            throw WireError(.malformed, "a \(frame.kind) frame cannot carry attachments")
        }
        return Frame(kind: frame.kind, body: frame.body, attachments: attachments)
    }

    /// Unpacks the body of a whole `attached` frame (one that arrived in one piece, not in
    /// chunks), copying its attachments out.
    package static func unpack(body: ByteBuffer) throws(WireError) -> Frame {
        let total = Frame.headerSize + body.readableBytes
        guard let layout = try layout(afterKind: body, total: total, maximumInnerFrameSize: body.readableBytes) else {
            throw WireError(.truncated, "attached frame ends inside its header")
        }
        var rest = body
        rest.moveReaderIndex(forwardBy: layout.headerSize - Frame.headerSize)
        guard let inner = rest.readSlice(length: layout.headLength - layout.headerSize) else {
            throw WireError(.truncated, "attached frame ends inside its inner frame")
        }
        var attachments: [[UInt8]] = []
        attachments.reserveCapacity(layout.attachmentLengths.count)
        for length in layout.attachmentLengths {
            // The layout's lengths add up to the frame's, so every read succeeds.
            attachments.append(rest.readBytes(length: length) ?? [])
        }
        return try innerFrame(inner, attachments: attachments)
    }
}
