import NIOCore

/// A value of the Redis protocol, RESP2.
public enum RESPValue: Sendable, Equatable {
    /// `+OK`
    case simple(String)
    /// `-ERR …`
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$3\r\nfoo`, or `$-1` (nil).
    case bulk([UInt8]?)
    /// `*2\r\n…`, or `*-1` (nil).
    case array([RESPValue]?)

    public static let ok = RESPValue.simple("OK")
    public static let null = RESPValue.bulk(nil)

    /// A bulk string of `text`'s UTF-8.
    public static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }

    /// `-ERR text`.
    public static func err(_ text: String) -> RESPValue { .error("ERR \(text)") }

    /// Writes the value in RESP2.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .simple(let text):
            buffer.writeInteger(UInt8(ascii: "+"))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .error(let text):
            buffer.writeInteger(UInt8(ascii: "-"))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        case .integer(let value):
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(String(value))
            buffer.writeStaticString("\r\n")
        case .bulk(nil):
            buffer.writeStaticString("$-1\r\n")
        case .bulk(let bytes?):
            buffer.writeInteger(UInt8(ascii: "$"))
            buffer.writeString(String(bytes.count))
            buffer.writeStaticString("\r\n")
            buffer.writeBytes(bytes)
            buffer.writeStaticString("\r\n")
        case .array(nil):
            buffer.writeStaticString("*-1\r\n")
        case .array(let values?):
            buffer.writeInteger(UInt8(ascii: "*"))
            buffer.writeString(String(values.count))
            buffer.writeStaticString("\r\n")
            for value in values { value.write(to: &buffer) }
        }
    }
}
