import NIOCore

/// Why a request is not RESP: the connection that sent it is closed after an error reply.
public struct RESPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Reads requests: RESP arrays of bulk strings (what redis-cli and redis-benchmark send) and
/// inline commands (`PING\r\n`, what a person types at telnet). Incremental: a request split
/// across reads is read once it is complete; nothing is consumed until then.
///
/// Bounded: a bulk string is at most ``maximumBulk`` bytes, an array at most ``maximumCount``
/// elements and ``maximumDepth`` deep, an inline line at most ``maximumInline`` bytes; anything
/// beyond, or anything malformed, is a ``RESPError`` — never a crash or unbounded memory.
public struct RESPParser: Sendable {
    public static let maximumBulk = 512 << 20
    public static let maximumCount = 1 << 20
    public static let maximumDepth = 8
    public static let maximumInline = 64 << 10

    public init() {}

    /// The next complete request in `buffer`, consuming it; `nil` when more bytes are needed.
    public func next(_ buffer: inout ByteBuffer) throws(RESPError) -> RESPValue? {
        var reader = buffer
        guard let first = reader.getInteger(at: reader.readerIndex, as: UInt8.self) else { return nil }
        let value: RESPValue?
        if first == UInt8(ascii: "*") {
            value = try parse(&reader, depth: 0)
        } else {
            value = try inline(&reader)
        }
        guard let value else { return nil }
        buffer = reader
        return value
    }

    /// The next complete reply in `buffer` (any RESP2 type, as a client reads them), consuming
    /// it; `nil` when more bytes are needed.
    public func nextReply(_ buffer: inout ByteBuffer) throws(RESPError) -> RESPValue? {
        var reader = buffer
        guard let value = try parse(&reader, depth: 0) else { return nil }
        buffer = reader
        return value
    }

    private func parse(_ buffer: inout ByteBuffer, depth: Int) throws(RESPError) -> RESPValue? {
        guard depth < Self.maximumDepth else { throw RESPError(message: "Protocol error: nested too deep") }
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        switch type {
        case UInt8(ascii: "*"):
            guard let count = try integerLine(&buffer) else { return nil }
            if count == -1 { return .array(nil) }
            guard count >= 0, count <= Self.maximumCount else { throw RESPError(message: "Protocol error: invalid multibulk length") }
            var values: [RESPValue] = []
            values.reserveCapacity(Int(min(count, 1024)))
            for _ in 0..<count {
                guard let value = try parse(&buffer, depth: depth + 1) else { return nil }
                values.append(value)
            }
            return .array(values)
        case UInt8(ascii: "$"):
            guard let length = try integerLine(&buffer) else { return nil }
            if length == -1 { return .bulk(nil) }
            guard length >= 0, length <= Self.maximumBulk else { throw RESPError(message: "Protocol error: invalid bulk length") }
            guard buffer.readableBytes >= Int(length) + 2 else { return nil }
            guard let bytes = buffer.readBytes(length: Int(length)) else { return nil }
            guard buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\r"), buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\n") else {
                throw RESPError(message: "Protocol error: a bulk string does not end with CRLF")
            }
            return .bulk(bytes)
        case UInt8(ascii: ":"):
            guard let value = try integerLine(&buffer) else { return nil }
            return .integer(value)
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let line = try line(&buffer, limit: Self.maximumInline) else { return nil }
            let text = String(decoding: line, as: UTF8.self)
            return type == UInt8(ascii: "+") ? .simple(text) : .error(text)
        default:
            throw RESPError(message: "Protocol error: expected '$', got '\(Self.printable(type))'")
        }
    }

    /// An inline command: words separated by spaces, on one line.
    private func inline(_ buffer: inout ByteBuffer) throws(RESPError) -> RESPValue? {
        guard let line = try line(&buffer, limit: Self.maximumInline) else { return nil }
        let words = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        return .array(words.map { .bulk(Array($0)) })
    }

    /// A line up to CRLF (or LF), without it; `nil` until it is complete.
    private func line(_ buffer: inout ByteBuffer, limit: Int) throws(RESPError) -> [UInt8]? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > limit { throw RESPError(message: "Protocol error: too big inline request") }
            return nil
        }
        let length = newline - buffer.readerIndex
        guard length <= limit, var bytes = buffer.readBytes(length: length + 1) else {
            throw RESPError(message: "Protocol error: too big inline request")
        }
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return bytes
    }

    /// A line holding a decimal integer (`-1`, `42`), read in place.
    private func integerLine(_ buffer: inout ByteBuffer) throws(RESPError) -> Int64? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > 32 { throw RESPError(message: "Protocol error: invalid number") }
            return nil
        }
        var end = newline
        if end > view.startIndex, view[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var index = view.startIndex
        let negative = index < end && view[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < end, end - index <= 18 else { throw RESPError(message: "Protocol error: invalid number") }
        var value: Int64 = 0
        while index < end {
            let digit = view[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw RESPError(message: "Protocol error: invalid number") }
            value = value * 10 + Int64(digit)
            index += 1
        }
        buffer.moveReaderIndex(to: newline + 1)
        return negative ? -value : value
    }

    private static func printable(_ byte: UInt8) -> String {
        (32..<127).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}

extension RESPParser {
    /// `SET key value` or `GET key` sent as RESP arrays (what redis-benchmark and most clients
    /// send), read straight from the buffer without building RESP values; consumed only when
    /// complete and well-formed. `nil` for anything else, which the general parser then reads.
    public func nextGetOrSet(_ buffer: inout ByteBuffer) -> (key: [UInt8], value: [UInt8]?)? {
        // One pass over the raw bytes, the cursor an `inout` argument: no closure captures it
        // (which would box it and check every access at run time), and keys and values are
        // copied with memcpy.
        let parsed: (key: [UInt8], value: [UInt8]?, end: Int)? = buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            let isSet: Bool
            if Self.expect(bytes, &index, "*3\r\n$3\r\n") {
                isSet = true
            } else if Self.expect(bytes, &index, "*2\r\n$3\r\n") {
                isSet = false
            } else {
                return nil
            }
            guard bytes.count - index >= 5 else { return nil }
            let name = (bytes[index] | 0x20, bytes[index + 1] | 0x20, bytes[index + 2] | 0x20)
            let wanted = isSet ? (UInt8(ascii: "s"), UInt8(ascii: "e"), UInt8(ascii: "t")) : (UInt8(ascii: "g"), UInt8(ascii: "e"), UInt8(ascii: "t"))
            guard name == wanted else { return nil }
            index += 3
            guard Self.expect(bytes, &index, "\r\n"), let key = Self.bulk(bytes, &index) else { return nil }
            var value: Range<Int>?
            if isSet {
                guard let range = Self.bulk(bytes, &index) else { return nil }
                value = range
            }
            let keyBytes = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[key]))
            let valueBytes = value.map { [UInt8](UnsafeRawBufferPointer(rebasing: bytes[$0])) }
            return (keyBytes, valueBytes, index)
        }
        guard let parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: parsed.end)
        return (parsed.key, parsed.value)
    }

    /// Whether `pattern` comes at `index`; past it if so.
    private static func expect(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, _ pattern: StaticString) -> Bool {
        let count = pattern.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let start = pattern.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] { return false }
        index += count
        return true
    }

    /// A complete bulk string `$N\r\n…\r\n` at `index`: the range of its bytes, and past it.
    private static func bulk(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Range<Int>? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "$") else { return nil }
        index += 1
        var length = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), digits < 10 {
            length = length * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
            digits += 1
        }
        guard digits > 0, length <= maximumBulk, expect(bytes, &index, "\r\n") else { return nil }
        guard bytes.count - index >= length + 2 else { return nil }
        let range = index..<(index + length)
        index += length
        return expect(bytes, &index, "\r\n") ? range : nil
    }
}
