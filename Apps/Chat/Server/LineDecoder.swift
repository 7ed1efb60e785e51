import NIOCore

/// A line from a client, or why there is none.
public enum ClientLine: Sendable, Equatable {
    /// A line of UTF-8 text, without its `\n` or `\r\n`.
    case text(String)
    /// A line longer than the limit (it was dropped, up to its end).
    case tooLong
    /// A line that is not UTF-8 (it was dropped).
    case invalidUTF8
}

/// Splits a client's bytes into lines of at most `limit` bytes. A longer line is dropped up to
/// its `\n` and reported once as ``ClientLine/tooLong``; a line that is not UTF-8 is reported as
/// ``ClientLine/invalidUTF8``. Memory stays bounded by the limit, whatever the client sends.
public struct LineDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ClientLine

    public let limit: Int
    private var discarding = false

    public init(limit: Int) {
        self.limit = limit
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let line = nextLine(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if let line = nextLine(&buffer) {
            context.fireChannelRead(wrapInboundOut(line))
            return .continue
        }
        // A last line without its end counts as a line.
        if !discarding, buffer.readableBytes > 0, let bytes = buffer.readBytes(length: buffer.readableBytes) {
            context.fireChannelRead(wrapInboundOut(Self.line(from: bytes[...])))
        }
        buffer.clear()
        return .needMoreData
    }

    /// The next complete line in `buffer`, consuming it; `nil` when more bytes are needed.
    mutating func nextLine(_ buffer: inout ByteBuffer) -> ClientLine? {
        while true {
            let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n"))
            if discarding {
                guard let newline else {
                    buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                    return nil
                }
                buffer.moveReaderIndex(to: newline + 1)
                discarding = false
                continue
            }
            guard let newline else {
                guard buffer.readableBytes > limit else { return nil }
                // Too long already: drop it up to its end, and say so once.
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                discarding = true
                return .tooLong
            }
            let length = newline - buffer.readerIndex
            guard let bytes = buffer.readBytes(length: length + 1) else { return nil }
            var content = bytes[..<length]
            if content.last == UInt8(ascii: "\r") { content = content.dropLast() }
            guard content.count <= limit else { return .tooLong }
            return Self.line(from: content)
        }
    }

    static func line(from bytes: ArraySlice<UInt8>) -> ClientLine {
        guard let text = String(validating: bytes, as: UTF8.self) else { return .invalidUTF8 }
        return .text(text)
    }
}
