import NIOCore

/// Decodes values written by ``BinaryEncoder``.
///
/// Decoding never trusts the input: every length is checked against the bytes that remain
/// before anything is read or allocated, nesting is limited by ``maxDepth``, and malformed input
/// of any kind results in a thrown `DecodingError`, never a crash.
///
/// Errors are Swift's `DecodingError` (`dataCorrupted`, `typeMismatch`, `keyNotFound`,
/// `valueNotFound`). Their `codingPath` leads to the failing field and their `debugDescription`
/// names the type being decoded, the field and the containing type, for example
/// `cannot decode Int for field 'age' of Person: truncated input (needed 1 more byte)`.
public struct BinaryDecoder: Sendable {
    /// The deepest nesting of values (structs, classes, enums, collections) accepted; deeper input
    /// throws `DecodingError.dataCorrupted` instead of recursing further.
    public var maxDepth: Int

    /// Contextual information made available to `init(from:)` implementations as
    /// `Decoder.userInfo` (for example the actor system that resolves actor references). Empty by
    /// default.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// Creates a decoder.
    ///
    /// - Parameter maxDepth: The nesting limit; 256 by default.
    public init(maxDepth: Int = 256) {
        self.maxDepth = maxDepth
    }

    /// Decodes one value of `type` from all readable bytes of `buffer`.
    ///
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - buffer: The bytes to decode; its reader index is not moved.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError` if the input is truncated, malformed, does not match `type`, or
    ///   has bytes left over after the value; any error thrown by `type`'s `init(from:)`.
    public func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        try self.decode(type, from: buffer, attachments: nil)
    }

    /// Decodes one value of `type` from all readable bytes of `buffer`, taking the byte arrays
    /// its attachment references stand for from `attachments` (see ``BinaryAttachments``).
    ///
    /// - Throws: See ``decode(_:from:)``; also `DecodingError.dataCorrupted` for a reference to an
    ///   attachment that `attachments` does not hold (or that was taken already).
    public func decode<T: Decodable>(
        _ type: T.Type, from buffer: ByteBuffer, attachments: BinaryAttachments?
    ) throws -> T {
        // Top-level byte arrays and strings (most one-way messages) skip the general path's
        // state. No `T?` here: this runs unspecialized, where it is a metadata lookup per call.
        switch CoderPrimitiveKind.of(T.self) {
        case .byteArray:
            if let bytes = Self.smallBlock(in: buffer) { return unsafeBitCast(bytes, to: T.self) }
        case .string:
            if let string = Self.smallString(in: buffer) { return unsafeBitCast(string, to: T.self) }
        default:
            break
        }
        let maxDepth = self.maxDepth
        let userInfo = self.userInfo
        return try buffer.withUnsafeReadableBytes { bytes throws -> T in
            let state = BinaryDecoderState(bytes: bytes, maxDepth: maxDepth, userInfo: userInfo, attachments: attachments)
            defer { state.invalidate() }
            do {
                var end = 0
                let value = try state.decodeValue(T.self, at: &end, limit: bytes.count)
                guard end == bytes.count else { throw CoderFault.trailingBytes(bytes.count - end) }
                return value
            } catch {
                throw CoderErrors.finalize(error, type: T.self)
            }
        }
    }

    /// The bytes of a top-level block (how `[UInt8]` and `String` encode) that is small and lies
    /// in `bytes` whole, with nothing after it; `nil` for anything the general path must judge
    /// (an attachment reference, trailing bytes, a truncated block), so that errors stay its own.
    private static func smallBlock(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var position = 0
        guard let length = try? bytes.readCoderVarint(at: &position, limit: bytes.count),
            length <= UInt64(smallBlockLimit), Int(length) == bytes.count - position
        else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[position...])
    }

    /// A top-level byte array, as ``smallBlock(in:)`` finds it.
    private static func smallBlock(in buffer: ByteBuffer) -> [UInt8]? {
        buffer.withUnsafeReadableBytes { bytes in smallBlock(in: bytes).map { [UInt8]($0) } }
    }

    /// A top-level string, as ``smallBlock(in:)`` finds it; `nil` also for invalid UTF-8.
    private static func smallString(in buffer: ByteBuffer) -> String? {
        buffer.withUnsafeReadableBytes { bytes -> String? in
            guard let block = smallBlock(in: bytes) else { return nil }
            return block.isEmpty ? "" : CoderUTF8.string(block)
        }
    }

    /// Blocks up to this size take ``smallBlock(in:)``; larger ones the general path (which
    /// advises huge pages for large arrays).
    private static let smallBlockLimit = 64 * 1024
}
