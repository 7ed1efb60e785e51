import KumoCore
import NIOCore
import Testing

@Suite("Attached frames")
struct AttachedFrameTests {
    /// The bytes of an attached frame carrying `inner` (a whole frame) and `attachments`.
    static func attached(_ inner: ByteBuffer, _ attachments: [[UInt8]]) -> ByteBuffer {
        var bytes = ByteBuffer()
        AttachedFrame.writeHeader(innerFrameLength: inner.readableBytes, attachmentLengths: attachments.map(\.count), to: &bytes)
        bytes.writeImmutableBuffer(inner)
        for attachment in attachments { bytes.writeBytes(attachment) }
        return bytes
    }

    static func frame(_ kind: FrameKind, _ body: [UInt8]) -> ByteBuffer {
        WireTests().frame(kind, body)
    }

    @Test("a whole attached frame unpacks into its inner frame and its attachments")
    func unpack() throws {
        let attachments: [[UInt8]] = [[1, 2, 3], [], [UInt8](repeating: 9, count: 300)]
        let bytes = Self.attached(Self.frame(.reply, [7, 0, 42]), attachments)
        var parser = FrameParser(maxFrameSize: 1 << 20)
        parser.append(bytes)
        let outer = try #require(try parser.next())
        #expect(outer.kind == .attached)
        let inner = try AttachedFrame.unpack(body: outer.body)
        #expect(inner.kind == .reply)
        #expect(inner.body == ByteBuffer(bytes: [7, 0, 42]))
        #expect(inner.attachments == attachments)
        let layout = try #require(try AttachedFrame.layout(of: bytes, maximumInnerFrameSize: 1 << 20))
        #expect(layout.attachmentLengths == [3, 0, 300])
        #expect(layout.headLength == bytes.readableBytes - 303)
    }

    @Test("the layout is unknown until the header has arrived, at every split")
    func partialHeader() throws {
        let bytes = Self.attached(Self.frame(.call, [1, 2]), [[5, 5], [6]])
        let layout = try #require(try AttachedFrame.layout(of: bytes, maximumInnerFrameSize: 100))
        for cut in 0..<(layout.headerSize + 4) {
            #expect(try AttachedFrame.layout(of: bytes.getSlice(at: 0, length: cut) ?? ByteBuffer(), maximumInnerFrameSize: 100) == nil)
        }
    }

    @Test("lengths that do not add up, kinds that carry nothing, and too many attachments are refused")
    func malformed() throws {
        // The outer length claims one byte more than the parts hold.
        var long = Self.attached(Self.frame(.call, [1]), [[2]])
        long.setInteger(UInt32(long.readableBytes - 4 + 1), at: 0)
        #expect(throws: WireError.self) { try AttachedFrame.layout(of: long, maximumInnerFrameSize: 100) }
        // A hello frame cannot carry attachments; neither can an attached frame.
        for kind in [FrameKind.hello, .attached, .chunk] {
            var body = Self.attached(Self.frame(kind, [1]), [[2]])
            body.moveReaderIndex(forwardBy: Frame.headerSize)
            #expect(throws: WireError.self) { try AttachedFrame.unpack(body: body) }
        }
        var tooMany = ByteBuffer()
        tooMany.writeInteger(UInt32(1_000_000))
        tooMany.writeInteger(FrameKind.attached.rawValue)
        tooMany.writeWireVarint(AttachedFrame.maximumAttachments + 1)
        #expect(throws: WireError.self) { try AttachedFrame.layout(of: tooMany, maximumInnerFrameSize: 100) }
        // Truncated bodies are errors, not crashes, at every length.
        var whole = Self.attached(Self.frame(.message, [3, 4, 5]), [[1], [2, 2]])
        whole.moveReaderIndex(forwardBy: Frame.headerSize)
        for cut in 0..<whole.readableBytes {
            #expect(throws: WireError.self) { try AttachedFrame.unpack(body: whole.getSlice(at: whole.readerIndex, length: cut) ?? ByteBuffer()) }
        }
    }
}
