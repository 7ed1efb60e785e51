@testable import Kumo
import KumoCore
import NIOCore
import Testing

@Suite("Reassembly of chunked frames")
struct ReassemblerTests {
    /// The chunk pieces of a frame's bytes, cut at the given sizes (cycled), as the parser hands
    /// them on.
    static func pieces(of bytes: ByteBuffer, stream: UInt64, sizes: [Int]) -> [ChunkMessage] {
        var rest = bytes
        var pieces: [ChunkMessage] = []
        var index = 0
        while rest.readableBytes > 0 {
            let count = min(rest.readableBytes, sizes[index % sizes.count])
            index += 1
            let piece = rest.readSlice(length: count) ?? ByteBuffer()
            pieces.append(ChunkMessage(
                stream: stream, isFirst: pieces.isEmpty, isLast: rest.readableBytes == 0,
                totalLength: pieces.isEmpty ? bytes.readableBytes : nil, bytes: piece))
        }
        return pieces
    }

    static func frame(_ kind: FrameKind, _ body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        let start = buffer.beginFrame(kind)
        buffer.writeBytes(body)
        buffer.endFrame(startedAt: start)
        return buffer
    }

    /// An attached frame as the transport writes it: header, inner frame, attachments.
    static func attached(_ inner: ByteBuffer, _ attachments: [[UInt8]]) -> ByteBuffer {
        OutboundFrame.wrapping(inner, attachments: attachments).flattened()
    }

    static func attachedCall(_ attachments: [[UInt8]], body: [UInt8] = [1, 2, 3]) -> ByteBuffer {
        Self.attached(Self.frame(.call, body), attachments)
    }

    @Test("an attached frame cut anywhere is split into its inner frame and its arrays")
    func attachedAtEverySplit() throws {
        let attachments: [[UInt8]] = [
            (0..<3000).map { UInt8(truncatingIfNeeded: $0) }, [], [42], (0..<777).map { UInt8(truncatingIfNeeded: $0 * 3) }, [],
        ]
        let bytes = Self.attachedCall(attachments, body: (0..<200).map { UInt8(truncatingIfNeeded: $0) })
        for sizes in [[1], [2, 3], [7], [50, 1], [256], [1000], [bytes.readableBytes]] {
            for upfront in [true, false] {
                // A small maximum message makes the reassembler grow buffers instead of sizing them whole.
                var reassembler = Reassembler(maximumMessageSize: upfront ? 1 << 20 : bytes.readableBytes - 1)
                var result: Frame?
                for piece in Self.pieces(of: bytes, stream: 3, sizes: sizes) {
                    #expect(result == nil)
                    result = try reassembler.add(piece)
                }
                let frame = try #require(result, "sizes \(sizes)")
                #expect(frame.kind == .call)
                #expect(frame.body == ByteBuffer(bytes: (0..<200).map { UInt8(truncatingIfNeeded: $0) }))
                #expect(frame.attachments == attachments, "sizes \(sizes)")
                #expect(reassembler.bufferedBytes == 0)
            }
        }
    }

    @Test("ordinary frames still come back whole, interleaved with attached ones")
    func interleaved() throws {
        let plain = Self.frame(.reply, [UInt8](repeating: 8, count: 5000))
        let attached = Self.attachedCall([[UInt8](repeating: 4, count: 4000)])
        var reassembler = Reassembler(maximumMessageSize: 1 << 20)
        let a = Self.pieces(of: plain, stream: 1, sizes: [333])
        let b = Self.pieces(of: attached, stream: 2, sizes: [101])
        var frames: [Frame] = []
        for index in 0..<max(a.count, b.count) {
            for pieces in [a, b] where index < pieces.count {
                if let frame = try reassembler.add(pieces[index]) { frames.append(frame) }
            }
        }
        #expect(frames.count == 2)
        #expect(frames.contains { $0.kind == .reply && $0.body.readableBytes == 5000 && $0.attachments.isEmpty })
        #expect(frames.contains { $0.kind == .call && $0.attachments == [[UInt8](repeating: 4, count: 4000)] })
    }

    @Test("attached streams whose header lies, or that carry too much or too little, are refused")
    func malformed() throws {
        // Lengths in the header that do not add up to the declared total.
        var lying = Self.attachedCall([[UInt8](repeating: 1, count: 100)])
        lying.setInteger(UInt32(lying.readableBytes - 4 + 50), at: 0)
        var reassembler = Reassembler(maximumMessageSize: 1 << 20)
        var pieces = Self.pieces(of: lying, stream: 1, sizes: [64])
        #expect(throws: WireError.self) { for piece in pieces { _ = try reassembler.add(piece) } }
        // A header that claims an attachment far larger than the stream it came in (the frame's own
        // length agrees with the header, not with the stream): refused before anything is allocated.
        var claim = ByteBuffer()
        AttachedFrame.writeHeader(innerFrameLength: 8, attachmentLengths: [1 << 30], to: &claim)
        claim.writeImmutableBuffer(Self.frame(.call, [1, 2, 3]))
        claim.writeBytes([UInt8](repeating: 0, count: 1000))
        reassembler = Reassembler(maximumMessageSize: 1 << 20)
        var first = ChunkMessage(stream: 9, isFirst: true, isLast: false, totalLength: claim.readableBytes, bytes: claim)
        #expect(throws: WireError.self) { _ = try reassembler.add(first) }
        first.stream = 10
        first.totalLength = 1 << 20
        #expect(throws: WireError.self) { _ = try reassembler.add(first) }
        // More bytes than the first chunk declared.
        pieces = Self.pieces(of: Self.attachedCall([[UInt8](repeating: 1, count: 100)]), stream: 2, sizes: [64])
        pieces[0].totalLength = (pieces[0].totalLength ?? 0) - 10
        reassembler = Reassembler(maximumMessageSize: 1 << 20)
        #expect(throws: WireError.self) { for piece in pieces { _ = try reassembler.add(piece) } }
        // A stream that ends early.
        pieces = Self.pieces(of: Self.attachedCall([[UInt8](repeating: 1, count: 100)]), stream: 3, sizes: [64])
        pieces[pieces.count - 2].isLast = true
        reassembler = Reassembler(maximumMessageSize: 1 << 20)
        #expect(throws: WireError.self) { for piece in pieces.dropLast() { _ = try reassembler.add(piece) } }
        // An inner frame that may not carry attachments.
        let hello = Self.attached(Self.frame(.hello, [1]), [[UInt8](repeating: 2, count: 10)])
        reassembler = Reassembler(maximumMessageSize: 1 << 20)
        #expect(throws: WireError.self) { for piece in Self.pieces(of: hello, stream: 4, sizes: [5]) { _ = try reassembler.add(piece) } }
    }

    @Test("a large attachment is received into the memory of one its receiver let go of, never one still held")
    func reusesReleasedAttachments() throws {
        let size = ByteArrayCache.minimumCapacity
        let cache = ByteArrayCache()
        var reassembler = Reassembler(maximumMessageSize: 64 << 20, arrays: cache)
        func receive(_ byte: UInt8, stream: UInt64) throws -> [UInt8] {
            let bytes = Self.attachedCall([[UInt8](repeating: byte, count: size)])
            var result: Frame?
            for piece in Self.pieces(of: bytes, stream: stream, sizes: [256 << 10]) { result = try reassembler.add(piece) }
            let frame = try #require(result)
            #expect(reassembler.bufferedBytes == 0)
            return try #require(frame.attachments.first)
        }
        func address(_ array: [UInt8]) -> UInt { array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }

        var first = try receive(1, stream: 1)
        let firstAsks = reassembler.takeTrimDue()
        #expect(firstAsks)  // the cache was empty: a trim is to be scheduled
        let firstAddress = address(first)
        // Still held: the next one gets memory of its own, and the first keeps its bytes.
        let second = try receive(2, stream: 2)
        let secondAsks = reassembler.takeTrimDue()
        #expect(!secondAsks)
        #expect(address(second) != firstAddress)
        #expect(first.allSatisfy { $0 == 1 } && second.allSatisfy { $0 == 2 })
        // Changing a held one in place copies it: the kept storage is not changed.
        first[0] = 9
        #expect(address(first) != firstAddress)
        first = []
        let third = try receive(3, stream: 3)
        #expect(address(third) == firstAddress)
        #expect(third.count == size && third.allSatisfy { $0 == 3 })
        #expect(second.allSatisfy { $0 == 2 })

        // Without a cache nothing is kept.
        var plain = Reassembler(maximumMessageSize: 64 << 20)
        var result: Frame?
        for piece in Self.pieces(of: Self.attachedCall([[UInt8](repeating: 4, count: size)]), stream: 1, sizes: [1 << 20]) {
            result = try plain.add(piece)
        }
        #expect(result?.attachments.first?.count == size)
        let plainAsks = plain.takeTrimDue()
        #expect(!plainAsks)
    }
}
