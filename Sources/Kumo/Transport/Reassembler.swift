import KumoCore
import NIOCore

/// Gathers the chunks of large frames back into whole frames, on the receiving side.
///
/// Bounded: at most ``maximumStreams`` large frames may be in progress at once, each no larger
/// than the configured maximum message size. A stream's buffer is allocated whole when it starts
/// (one copy per byte, no regrowth) as long as the lengths claimed by all streams in progress stay
/// within the maximum message size; beyond that, buffers grow with the bytes that arrive, so a
/// peer cannot make the node allocate more than one maximum message merely by claiming it.
struct Reassembler {
    static let maximumStreams = 64

    private var streams: [UInt64: (expected: Int, bytes: ByteBuffer, upfront: Bool)] = [:]
    private var claimed = 0
    let maximumMessageSize: Int

    init(maximumMessageSize: Int) {
        self.maximumMessageSize = maximumMessageSize
    }

    /// Bytes held in unfinished frames.
    var bufferedBytes: Int { streams.values.reduce(0) { $0 + $1.bytes.readableBytes } }

    /// Adds a chunk; returns the whole frame when this chunk completes it.
    mutating func add(_ chunk: ChunkMessage) throws(WireError) -> Frame? {
        var chunk = chunk
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
            var bytes = ByteBufferAllocator().buffer(
                capacity: upfront ? expected : min(expected, chunk.bytes.readableBytes * 4))
            if upfront { bytes.withUnsafeMutableWritableBytes { HugePages.advise($0) } }
            bytes.writeBuffer(&chunk.bytes)
            streams[chunk.stream] = (expected, bytes, upfront)
        } else {
            guard var entry = streams.removeValue(forKey: chunk.stream) else {
                throw WireError(.malformed, "chunk for unknown stream \(chunk.stream)")
            }
            if entry.bytes.writableBytes < chunk.bytes.readableBytes {
                entry.bytes.reserveCapacity(minimumWritableBytes: min(
                    entry.expected - entry.bytes.readableBytes, max(chunk.bytes.readableBytes, entry.bytes.readableBytes)))
            }
            entry.bytes.writeBuffer(&chunk.bytes)
            streams[chunk.stream] = entry
        }
        guard let entry = streams[chunk.stream] else { return nil }
        guard entry.bytes.readableBytes <= entry.expected else {
            throw WireError(.malformed, "chunk stream \(chunk.stream) exceeds its declared \(entry.expected) bytes")
        }
        guard chunk.isLast else { return nil }
        streams.removeValue(forKey: chunk.stream)
        if entry.upfront { claimed -= entry.expected }
        guard entry.bytes.readableBytes == entry.expected else {
            throw WireError(.truncated, "chunk stream \(chunk.stream) ended at \(entry.bytes.readableBytes) of \(entry.expected) bytes")
        }
        var parser = FrameParser(maxFrameSize: maximumMessageSize)
        parser.append(entry.bytes)
        guard let frame = try parser.next(), parser.bufferedBytes == 0 else {
            throw WireError(.malformed, "chunk stream \(chunk.stream) is not one whole frame")
        }
        guard frame.kind != .chunk else {
            throw WireError(.malformed, "chunks may not be nested")
        }
        return frame
    }
}
