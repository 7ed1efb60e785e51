import NIOCore
import Testing

@testable import KumoChatServer

@Suite("Line decoder")
struct LineDecoderTests {
    func lines(_ chunks: [[UInt8]], limit: Int = 16) -> [ClientLine] {
        var decoder = LineDecoder(limit: limit)
        var buffer = ByteBuffer()
        var result: [ClientLine] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let line = decoder.nextLine(&buffer) { result.append(line) }
            buffer.discardReadBytes()
        }
        return result
    }

    @Test("lines split across reads, with \\n or \\r\\n endings")
    func splitLines() {
        #expect(lines([Array("hel".utf8), Array("lo\r\nwor".utf8), Array("ld\n\n".utf8)]) == [.text("hello"), .text("world"), .text("")])
        #expect(lines([Array("héllo ☃\n".utf8)]) == [.text("héllo ☃")])
    }

    @Test("an over-long line is dropped up to its end and reported once; the next line is read")
    func overLong() {
        let long = Array(repeating: UInt8(ascii: "x"), count: 40)
        #expect(lines([long, long, Array("\nok\n".utf8)]) == [.tooLong, .text("ok")])
        #expect(lines([Array(repeating: UInt8(ascii: "y"), count: 17) + Array("\nok\n".utf8)]) == [.tooLong, .text("ok")])
        #expect(lines([Array(repeating: UInt8(ascii: "y"), count: 16) + Array("\n".utf8)]) == [.text(String(repeating: "y", count: 16))])
    }

    @Test("a line that is not UTF-8 is reported, and the next one is read")
    func invalidUTF8() {
        #expect(lines([[0xFF, 0xFE, 0x0A], Array("ok\n".utf8)]) == [.invalidUTF8, .text("ok")])
        #expect(lines([[0xE2, 0x98, 0x0A]]) == [.invalidUTF8])
    }

    @Test("random bytes in random reads: never more than the limit held, every line within it")
    func randomInput() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var decoder = LineDecoder(limit: 32)
            var buffer = ByteBuffer()
            for _ in 0..<20 {
                let count = Int.random(in: 0...80, using: &generator)
                buffer.writeBytes((0..<count).map { _ in
                    Bool.random(using: &generator) ? UInt8(ascii: "\n") : UInt8.random(in: 0...255, using: &generator)
                })
                while let line = decoder.nextLine(&buffer) {
                    if case .text(let text) = line { #expect(text.utf8.count <= 32) }
                }
                buffer.discardReadBytes()
                #expect(buffer.readableBytes <= 33)
            }
        }
    }
}
