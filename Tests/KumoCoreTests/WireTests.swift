import KumoCore
import NIOCore
import Testing

@Suite("Wire format")
struct WireTests {
    func frame(_ kind: FrameKind, _ body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        let start = buffer.beginFrame(kind)
        buffer.writeBytes(body)
        buffer.endFrame(startedAt: start)
        return buffer
    }

    @Test("frames split at every byte boundary are reassembled")
    func splitFrames() throws {
        var stream = ByteBuffer()
        stream.writeImmutableBuffer(frame(.ping, [1, 2, 3]))
        stream.writeImmutableBuffer(frame(.call, Array(repeating: 9, count: 300)))
        stream.writeImmutableBuffer(frame(.pong, []))
        let bytes = Array(stream.readableBytesView)
        for split in 0...bytes.count {
            var parser = FrameParser(maxFrameSize: 1024)
            var kinds: [FrameKind] = []
            parser.append(ByteBuffer(bytes: bytes[..<split]))
            while let frame = try parser.next() { kinds.append(frame.kind) }
            parser.append(ByteBuffer(bytes: bytes[split...]))
            while let frame = try parser.next() { kinds.append(frame.kind) }
            #expect(kinds == [.ping, .call, .pong])
            #expect(parser.bufferedBytes == 0)
        }
    }

    @Test("frames of many sizes, read in pieces of many sizes, come out whole and in order")
    func framesAcrossReads() throws {
        var generator = SystemRandomNumberGenerator()
        let bodies: [[UInt8]] = (0..<200).map { index in
            let count = [0, 1, 3, 60, 61, 700, 5000][index % 7] + Int.random(in: 0..<3, using: &generator)
            return (0..<count).map { UInt8(truncatingIfNeeded: $0 &+ index) }
        }
        var stream = ByteBuffer()
        for body in bodies { stream.writeImmutableBuffer(frame(.message, body)) }
        let bytes = Array(stream.readableBytesView)
        for readSize in [1, 2, 5, 7, 64, 100, 4096, 6000, 65_536] {
            var parser = FrameParser(maxFrameSize: 10_000)
            var received: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + readSize)
                parser.append(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
                while let item = try parser.nextItem(maximumMessageSize: 1 << 20) {
                    guard case .frame(let frame) = item else { Issue.record("a chunk piece from whole frames"); continue }
                    #expect(frame.kind == .message)
                    received.append(Array(frame.body.readableBytesView))
                }
            }
            #expect(received == bodies, "reads of \(readSize) bytes")
            #expect(parser.bufferedBytes == 0)
        }
    }

    @Test("a call's head written into raw memory is the head the buffer path writes")
    func plainCallHead() throws {
        let paths: [ActorID.Path] = [.number(7), .number(1 << 40), .name("bench"), .name("a-much-longer-actor-name-é")]
        for (callID, target, deadline) in [(UInt64(1), UInt32(1), UInt64(5000)), (1 << 35, 300, 0), (127, 128, 1 << 60)] {
            for path in paths {
                for argumentCount in [0, 1, 200] {
                    var expected = ByteBuffer()
                    let start = expected.beginFrame(.call)
                    CallMessage.writeHeader(
                        callID: callID, flags: CallMessage.Flags(rawValue: 0), target: target, actor: path,
                        deadlineMillis: deadline, metadata: CallMetadata(), substitutions: [], to: &expected)
                    expected.writeWireVarint(argumentCount)
                    let argumentBytes = 9
                    expected.setInteger(UInt32(expected.readableBytes - 4 + argumentBytes), at: start)
                    let size = CallMessage.plainHeadSize(
                        callID: callID, target: target, actor: path, deadlineMillis: deadline, argumentCount: argumentCount)
                    #expect(size == expected.readableBytes)
                    var raw = [UInt8](repeating: 0xEE, count: size)
                    raw.withUnsafeMutableBytes { out in
                        CallMessage.writePlainHead(
                            callID: callID, target: target, actor: path, deadlineMillis: deadline,
                            argumentCount: argumentCount, frameLength: size - 4 + argumentBytes, to: out)
                    }
                    #expect(raw == Array(expected.readableBytesView), "\(path) call \(callID)")
                }
            }
        }
    }

    /// A chunk frame as the outbox writes it: header, then payload.
    func chunk(stream: UInt64, first: Bool, last: Bool, total: Int, _ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        ChunkMessage.writeHeader(
            stream: stream, isFirst: first, isLast: last, totalLength: total, payloadLength: payload.count, to: &buffer)
        buffer.writeBytes(payload)
        return buffer
    }

    @Test("chunk payloads are handed on as they arrive, whole frames as frames, at every split")
    func streamedChunks() throws {
        let payloadA = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let payloadB = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var stream = ByteBuffer()
        stream.writeImmutableBuffer(chunk(stream: 9, first: true, last: false, total: 500, payloadA))
        stream.writeImmutableBuffer(frame(.ping, [1, 2, 3]))
        stream.writeImmutableBuffer(chunk(stream: 9, first: false, last: true, total: 500, payloadB))
        stream.writeImmutableBuffer(frame(.pong, []))
        let bytes = Array(stream.readableBytesView)
        for split in 0...bytes.count {
            for second in stride(from: split, through: bytes.count, by: 37) {
                var parser = FrameParser(maxFrameSize: 1024)
                var kinds: [FrameKind] = []
                var gathered: [UInt8] = []
                var firsts = 0
                var lasts = 0
                for range in [0..<split, split..<second, second..<bytes.count] {
                    parser.append(ByteBuffer(bytes: bytes[range]))
                    while let item = try parser.nextItem(maximumMessageSize: 1 << 20) {
                        switch item {
                        case .frame(let frame): kinds.append(frame.kind)
                        case .chunk(let piece):
                            #expect(piece.stream == 9)
                            if piece.isFirst { firsts += 1; #expect(piece.totalLength == 500) }
                            if piece.isLast { lasts += 1 }
                            gathered += piece.bytes.readableBytesView
                        }
                    }
                }
                #expect(kinds == [.ping, .pong])
                #expect(gathered == payloadA + payloadB)
                #expect(firsts == 1 && lasts == 1)
                #expect(parser.bufferedBytes == 0)
            }
        }
    }

    @Test("a chunk header claiming more than the maximum message is refused while still arriving")
    func streamedChunkTooLarge() {
        var parser = FrameParser(maxFrameSize: 1 << 20)
        var partial = chunk(stream: 1, first: true, last: false, total: 1 << 30, Array(repeating: 0, count: 100))
        partial.moveWriterIndex(to: partial.writerIndex - 50)
        parser.append(partial)
        #expect(throws: WireError.self) { try parser.nextItem(maximumMessageSize: 1 << 20) }
    }

    @Test("a length above the maximum is refused before any body arrives")
    func oversized() {
        var parser = FrameParser(maxFrameSize: 1000)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1001))
        parser.append(buffer)
        #expect(throws: WireError.self) { try parser.next() }
    }

    @Test("unknown kinds and zero lengths are errors")
    func unknownKind() {
        var parser = FrameParser(maxFrameSize: 1000)
        parser.append(ByteBuffer(bytes: [0, 0, 0, 1, 0xEE]))
        #expect(throws: WireError.self) { try parser.next() }
        var zero = FrameParser(maxFrameSize: 1000)
        zero.append(ByteBuffer(bytes: [0, 0, 0, 0]))
        #expect(throws: WireError.self) { try zero.next() }
    }

    @Test("varints round-trip at their edges and overlong ones are refused")
    func varints() throws {
        for value: UInt64 in [0, 1, 127, 128, 255, 300, 16_383, 16_384, UInt64(UInt32.max), .max - 1, .max] {
            var buffer = ByteBuffer()
            buffer.writeWireVarint(value)
            #expect(try buffer.readWireVarint() == value)
            #expect(buffer.readableBytes == 0)
        }
        var overlong = ByteBuffer(bytes: Array(repeating: 0xFF, count: 11))
        #expect(throws: WireError.self) { try overlong.readWireVarint() }
        var overflow = ByteBuffer(bytes: Array(repeating: 0xFF, count: 9) + [0x02])
        #expect(throws: WireError.self) { try overflow.readWireVarint() }
    }

    @Test("handshake and call messages round-trip")
    func messages() throws {
        let node = NodeID(address: NodeAddress(host: "127.0.0.1", port: 7000), incarnation: 0xABCDEF)
        let hello = HelloMessage(
            minimumVersion: .minimumSupported, maximumVersion: .current, node: node, name: "alpha",
            nonce: Array(repeating: 5, count: 32))
        var buffer = ByteBuffer()
        hello.write(to: &buffer)
        var parser = FrameParser(maxFrameSize: 1 << 16)
        parser.append(buffer)
        let parsed = try #require(try parser.next())
        #expect(try HelloMessage(body: parsed.body) == hello)

        var envelopeBuffer = ByteBuffer()
        RemoteErrorEnvelope(code: 9, node: node, errorType: "M.E", message: "bad", payloadType: "T", payload: ByteBuffer(bytes: [1, 2]))
            .write(to: &envelopeBuffer)
        let envelope = try RemoteErrorEnvelope(body: envelopeBuffer)
        #expect(envelope.code == 9 && envelope.node == node && envelope.errorType == "M.E" && envelope.message == "bad")
        #expect(envelope.payload.map { Array($0.readableBytesView) } == [1, 2])
    }

    @Test("random and truncated bytes never crash the frame and message parsers")
    func fuzz() {
        var generator = BinaryCoderFixtures.SplitMix64(seed: 0x5EED)
        for round in 0..<20_000 {
            let count = Int(generator.next() % 96)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if round % 3 == 0, count > 5 {
                // Plausible frames: a small length and a known kind.
                bytes[0] = 0; bytes[1] = 0; bytes[2] = 0; bytes[3] = UInt8(count - 4)
                bytes[4] = FrameKind.allCases[Int(generator.next() % UInt64(FrameKind.allCases.count))].rawValue
            }
            var parser = FrameParser(maxFrameSize: 4096)
            parser.append(ByteBuffer(bytes: bytes))
            var streaming = FrameParser(maxFrameSize: 4096)
            streaming.append(ByteBuffer(bytes: bytes))
            while let item = try? streaming.nextItem(maximumMessageSize: 1 << 20) { _ = item }
            while let frame = try? parser.next() {
                _ = try? HelloMessage(body: frame.body)
                _ = try? ChallengeMessage(body: frame.body)
                _ = try? ProofMessage(body: frame.body)
                _ = try? RejectMessage(body: frame.body)
                _ = try? CallMessage(body: frame.body)
                _ = try? ReplyMessage(body: frame.body)
                _ = try? PortMessage(body: frame.body)
                _ = try? ChunkMessage(body: frame.body, maximumTotal: 1 << 20)
                _ = try? TargetDefinitionMessage(body: frame.body)
                _ = try? RemoteErrorEnvelope(body: frame.body)
            }
        }
    }
}
