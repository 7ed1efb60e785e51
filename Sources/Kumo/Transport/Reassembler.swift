import KumoCore
import NIOCore

/// Gathers the chunks of large frames back into whole frames, on the receiving side.
///
/// Bounded: at most ``maximumStreams`` large frames may be in progress at once, each no larger
/// than the configured maximum message size. A stream's buffers are allocated whole when their
/// sizes are known (one copy per byte, no regrowth) as long as the lengths claimed by all streams
/// in progress stay within the maximum message size; beyond that, buffers grow with the bytes
/// that arrive, so a peer cannot make the node allocate more than one maximum message merely by
/// claiming it.
///
/// An `attached` frame (``AttachedFrame``) is split as it arrives: its head (the inner frame)
/// goes into a buffer, and each attachment's bytes go straight into the `[UInt8]` the decoder
/// will hand to the user, so a large byte array is copied once between the socket and its owner.
struct Reassembler {
    static let maximumStreams = 64

    private struct Stream {
        /// The frame's length, its length prefix included.
        let expected: Int
        /// Whether `expected` was counted in ``Reassembler/claimed`` (and buffers sized whole).
        let upfront: Bool
        /// The frame's bytes, up to where its attachments begin (all of them for other frames).
        var head: ByteBuffer
        /// How the frame is laid out, once its first bytes told (`nil` before).
        var shape: Shape?
        var attachments: [[UInt8]] = []
        var received = 0
        /// The head's size at which to try reading the header again (it is read again only once
        /// the head has doubled, so a header trickled in byte by byte is read a few times, not
        /// once per byte).
        var parseAt = Frame.headerSize
    }

    private enum Shape {
        /// An ordinary frame: every byte goes into the head.
        case plain
        /// An attached frame: the head, then the attachments.
        case attached(AttachedFrame.Layout)

        /// Bytes of a frame of `expected` bytes that go into the head.
        func headLength(of expected: Int) -> Int {
            if case .attached(let layout) = self { return layout.headLength }
            return expected
        }
    }

    private var streams: [UInt64: Stream] = [:]
    private var claimed = 0
    let maximumMessageSize: Int
    /// Where large attachments come from and go back to once their receiver is done with them.
    private let arrays: ByteArrayCache?
    /// An attachment was kept in ``arrays`` and the cache asked for a trim to be scheduled.
    private var trimDue = false

    init(maximumMessageSize: Int, arrays: ByteArrayCache? = nil) {
        self.maximumMessageSize = maximumMessageSize
        self.arrays = arrays
    }

    /// Whether a trim of the array cache is to be scheduled; asking clears it.
    mutating func takeTrimDue() -> Bool {
        defer { trimDue = false }
        return trimDue
    }

    /// Whether a large frame is partly received (more of its chunks are to come).
    var isReceiving: Bool { !streams.isEmpty }

    /// Bytes held in unfinished frames.
    var bufferedBytes: Int { streams.values.reduce(0) { $0 + $1.received } }

    /// Adds a chunk; returns the whole frame when this chunk completes it.
    mutating func add(_ chunk: ChunkMessage) throws(WireError) -> Frame? {
        var stream: Stream
        if chunk.isFirst {
            guard streams[chunk.stream] == nil else {
                throw WireError(.malformed, "chunk stream \(chunk.stream) started twice")
            }
            guard streams.count < Self.maximumStreams else {
                throw WireError(.malformed, "more than \(Self.maximumStreams) chunked frames in progress")
            }
            let expected = chunk.totalLength ?? 0
            let upfront = claimed + expected <= maximumMessageSize
            if upfront { claimed += expected }
            // Enough for the header of any frame; the rest is sized once the header is read.
            let probe = min(expected, AttachedFrame.maximumHeaderSize + 4)
            stream = Stream(expected: expected, upfront: upfront, head: ByteBufferAllocator().buffer(capacity: probe))
        } else {
            // Taken out while it grows, so its buffers stay uniquely referenced.
            guard let existing = streams.removeValue(forKey: chunk.stream) else {
                throw WireError(.malformed, "chunk for unknown stream \(chunk.stream)")
            }
            stream = existing
        }
        do {
            var bytes = chunk.bytes
            try feed(&bytes, into: &stream, id: chunk.stream)
        } catch {
            if stream.upfront { claimed -= stream.expected }
            throw error
        }
        guard chunk.isLast else {
            streams[chunk.stream] = stream
            return nil
        }
        if stream.upfront { claimed -= stream.expected }
        guard stream.received == stream.expected else {
            throw WireError(.truncated, "chunk stream \(chunk.stream) ended at \(stream.received) of \(stream.expected) bytes")
        }
        switch stream.shape {
        case .attached(let layout):
            // Empty attachments at the end took no bytes, so nothing made them yet.
            while stream.attachments.count < layout.attachmentLengths.count { stream.attachments.append([]) }
            guard stream.attachments.map(\.count) == layout.attachmentLengths else {
                throw WireError(.truncated, "chunk stream \(chunk.stream) ended before its attachments did")
            }
            if let arrays {
                // Kept before the decoder hands them on, so their storage can be reused once
                // whoever gets them is done with them.
                let now = NIODeadline.now().uptimeNanoseconds
                for attachment in stream.attachments where arrays.keep(attachment, now: now) { trimDue = true }
            }
            return try AttachedFrame.innerFrame(head: stream.head, layout: layout, attachments: stream.attachments)
        case .plain, nil:
            var parser = FrameParser(maxFrameSize: maximumMessageSize)
            parser.append(stream.head)
            guard let frame = try parser.next(), parser.bufferedBytes == 0 else {
                throw WireError(.malformed, "chunk stream \(chunk.stream) is not one whole frame")
            }
            guard frame.kind != .chunk else {
                throw WireError(.malformed, "chunks may not be nested")
            }
            return frame
        }
    }

    /// Routes the bytes of one chunk piece into the head or the attachment they belong to.
    private func feed(_ bytes: inout ByteBuffer, into stream: inout Stream, id: UInt64) throws(WireError) {
        guard stream.received + bytes.readableBytes <= stream.expected else {
            throw WireError(.malformed, "chunk stream \(id) exceeds its declared \(stream.expected) bytes")
        }
        while bytes.readableBytes > 0 {
            guard let shape = stream.shape else {
                // The header: gather up to the most it can take, then read it.
                let want = min(bytes.readableBytes, stream.head.capacity - stream.head.readableBytes)
                var piece = bytes.readSlice(length: want) ?? ByteBuffer()
                stream.head.writeBuffer(&piece)
                stream.received += want
                let full = stream.head.readableBytes >= stream.head.capacity || stream.received == stream.expected
                guard full || stream.head.readableBytes >= stream.parseAt else { continue }
                guard let found = try Self.shape(of: stream.head, expected: stream.expected) else {
                    guard !full else {
                        throw WireError(.malformed, "chunk stream \(id) does not start with a frame header")
                    }
                    stream.parseAt = stream.head.readableBytes * 2
                    continue
                }
                try settle(&stream, shape: found, id: id)
                continue
            }
            let headLength = shape.headLength(of: stream.expected)
            if stream.head.readableBytes < headLength {
                var piece = bytes.readSlice(length: min(bytes.readableBytes, headLength - stream.head.readableBytes))
                    ?? ByteBuffer()
                if stream.head.writableBytes < piece.readableBytes {
                    stream.head.reserveCapacity(minimumWritableBytes: min(
                        headLength - stream.head.readableBytes,
                        max(piece.readableBytes, stream.head.readableBytes)))
                }
                stream.received += piece.readableBytes
                stream.head.writeBuffer(&piece)
                continue
            }
            guard case .attached(let layout) = shape else {
                // Unreachable: a plain frame's head is all of it, and the size was checked above.
                throw WireError(.malformed, "chunk stream \(id) exceeds its declared \(stream.expected) bytes")
            }
            var index = stream.attachments.count - 1
            if index < 0 || stream.attachments[index].count == layout.attachmentLengths[index] {
                index += 1
                guard index < layout.attachmentLengths.count else {
                    throw WireError(.malformed, "chunk stream \(id) exceeds its declared \(stream.expected) bytes")
                }
                stream.attachments.append(makeAttachment(
                    length: min(layout.attachmentLengths[index], stream.expected - stream.received),
                    upfront: stream.upfront, first: bytes.readableBytes))
                continue  // an empty attachment is complete at once
            }
            let count = min(bytes.readableBytes, layout.attachmentLengths[index] - stream.attachments[index].count)
            bytes.readWithUnsafeReadableBytes { raw in
                // ByteBuffer storage holds bytes; viewing it as UInt8 is how NIO reads it too.
                stream.attachments[index].append(contentsOf: UnsafeBufferPointer(
                    start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: count))
                return count
            }
            stream.received += count
        }
    }

    /// Fixes the shape of `stream` and sizes its head; bytes gathered past the head (the start of
    /// the attachments) are moved on to where they belong.
    private func settle(_ stream: inout Stream, shape: Shape, id: UInt64) throws(WireError) {
        stream.shape = shape
        let headLength = shape.headLength(of: stream.expected)
        var overflow: ByteBuffer?
        if stream.head.readableBytes > headLength {
            overflow = stream.head.getSlice(
                at: stream.head.readerIndex + headLength, length: stream.head.readableBytes - headLength)
            stream.head.moveWriterIndex(to: stream.head.readerIndex + headLength)
            stream.received = headLength
        }
        if stream.upfront, stream.head.capacity < headLength {
            stream.head.reserveCapacity(headLength)
            stream.head.withUnsafeMutableWritableBytes { HugePages.advise($0) }
        }
        if var overflow { try feed(&overflow, into: &stream, id: id) }
    }

    /// The shape of the frame whose first bytes are `head`, or `nil` if they are too few to tell.
    private static func shape(of head: ByteBuffer, expected: Int) throws(WireError) -> Shape? {
        guard let length = head.getInteger(at: head.readerIndex, as: UInt32.self),
            let kind = head.getInteger(at: head.readerIndex + 4, as: UInt8.self)
        else { return nil }
        guard kind == FrameKind.attached.rawValue else { return .plain }
        // The attachments' lengths are checked against the frame's own length; that must be the
        // stream's, or a header could claim arrays larger than the stream was counted for.
        guard Int(length) + 4 == expected else {
            throw WireError(.malformed, "attached frame of \(Int(length) + 4) bytes in a chunk stream of \(expected)")
        }
        return try AttachedFrame.layout(of: head, maximumInnerFrameSize: expected).map { .attached($0) }
    }

    /// An empty attachment for `length` bytes: with room for all of them when its stream was
    /// counted in upfront (in a kept array nobody holds any more, if there is one), grown with
    /// the bytes that arrive otherwise.
    private func makeAttachment(length: Int, upfront: Bool, first: Int) -> [UInt8] {
        if upfront, let arrays, let reused = arrays.take(capacity: length) { return reused }
        let capacity = upfront ? length : min(length, first * 4)
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            HugePages.advise(UnsafeMutableRawBufferPointer(buffer))
            initialized = 0
        }
    }
}
