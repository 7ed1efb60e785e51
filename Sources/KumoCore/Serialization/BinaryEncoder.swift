import NIOCore

/// Encodes `Encodable` values into Kumo's compact binary format.
///
/// The format is not self-describing for values (a decoder must know the type it reads) but
/// tags the fields of keyed containers, so types can gain and lose fields over time: unknown
/// fields are skipped and absent optional fields decode as `nil`. See `docs/serialization.md`
/// for the byte-level specification.
///
/// `[UInt8]`, `ContiguousArray<UInt8>` and `Data` are written as one length-prefixed block of raw
/// bytes (a single copy), so large binary payloads encode at memory-copy speed.
///
/// ```swift
/// let bytes = try BinaryEncoder().encode(person)
/// let back = try BinaryDecoder().decode(Person.self, from: bytes)
/// ```
public struct BinaryEncoder: Sendable {
    /// Contextual information made available to `encode(to:)` implementations as
    /// `Encoder.userInfo`. Empty by default.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// When set, every `[UInt8]` longer than this many bytes is not copied into the encoding but
    /// left beside it as an attachment (see ``BinaryAttachments`` and
    /// ``encode(_:into:attachments:)``). `nil` (the default): byte arrays are always inline.
    public var attachmentThreshold: Int?

    /// Creates an encoder. It holds no mutable state; one instance may be shared freely.
    public init() {}

    /// Appends the encoding of `value` to `buffer`.
    ///
    /// - Parameters:
    ///   - value: The value to encode.
    ///   - buffer: The buffer to append to; its existing bytes are left untouched.
    /// - Throws: `EncodingError` if `value`'s `encode(to:)` misuses its containers (for example
    ///   writes to a container after a sibling container was written to) or a container exceeds
    ///   4 GiB, or any error `value` itself throws. On error the buffer's readable bytes are left
    ///   unchanged.
    public func encode<T: Encodable>(_ value: T, into buffer: inout ByteBuffer) throws {
        var attachments: [[UInt8]] = []
        try self.encode(value, into: &buffer, attachments: &attachments)
        // Only an encoder with a threshold makes attachments.
        assert(attachments.isEmpty || self.attachmentThreshold != nil)
    }

    /// Appends the encoding of `value` to `buffer`, and the byte arrays it leaves out (those
    /// longer than ``attachmentThreshold``) to `attachments`.
    ///
    /// References count from the start of `attachments`, so the values of one message can be
    /// encoded one after another into the same array and decoded with one ``BinaryAttachments``.
    ///
    /// - Throws: See ``encode(_:into:)``. On error `buffer` and `attachments` are left as they were.
    public func encode<T: Encodable>(_ value: T, into buffer: inout ByteBuffer, attachments: inout [[UInt8]]) throws {
        if Self.encodeBlock(value, into: &buffer, threshold: self.attachmentThreshold) { return }
        let state = BinaryEncoderState(userInfo: self.userInfo, attachmentThreshold: self.attachmentThreshold ?? .max)
        // Move the caller's buffer into the state (and back) without sharing its storage, so
        // writes never trigger a copy-on-write.
        swap(&state.buffer, &buffer)
        swap(&state.attachments, &attachments)
        defer {
            state.finish()
            swap(&state.buffer, &buffer)
            swap(&state.attachments, &attachments)
        }
        let originalWriterIndex = state.buffer.writerIndex
        let originalAttachments = state.attachments.count
        state.start(reserving: 64)
        do {
            try state.encodeTopLevel(value)
        } catch {
            // Leave the buffer's readable bytes, and the attachments, as they were.
            state.writeIndex = originalWriterIndex
            state.attachments.removeSubrange(originalAttachments...)
            throw error
        }
    }

    /// Writes a top-level string or block of bytes (what most one-way messages are) straight into
    /// `buffer` — the same bytes the general path writes: a varint length, then the bytes — and
    /// returns `true`; returns `false`, having written nothing, for any other value, or a byte
    /// array that must become an attachment. Skips allocating the general path's state.
    @inline(__always)
    private static func encodeBlock<T: Encodable>(_ value: T, into buffer: inout ByteBuffer, threshold: Int?) -> Bool {
        switch CoderPrimitiveKind.of(T.self) {
        case .byteArray:
            let bytes = unsafeBitCast(value, to: [UInt8].self)
            if let threshold, bytes.count > threshold { return false }
            bytes.withUnsafeBytes { writeBlock($0, into: &buffer) }
        case .string:
            var string = unsafeBitCast(value, to: String.self)
            string.withUTF8 { writeBlock(UnsafeRawBufferPointer($0), into: &buffer) }
        default:
            return false
        }
        return true
    }

    private static func writeBlock(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count + CoderVarint.maxLength) { out in
            guard let base = out.baseAddress else { return 0 }
            let prefix = CoderVarint.write(UInt64(bytes.count), to: base)
            if !bytes.isEmpty {
                UnsafeMutableRawBufferPointer(rebasing: out[prefix...]).copyMemory(from: bytes)
            }
            return prefix + bytes.count
        }
    }

    /// Returns the encoding of `value` in a new buffer.
    ///
    /// - Parameter value: The value to encode.
    /// - Returns: A buffer whose readable bytes are exactly the encoding of `value`.
    /// - Throws: See ``encode(_:into:)``.
    public func encode<T: Encodable>(_ value: T) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: BinaryEncoderState.initialCapacity(for: value))
        try self.encode(value, into: &buffer)
        return buffer
    }
}
