#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// The mutable state of one top-level encode call: the output buffer, the key table and the stack
/// of containers whose `UInt32` length is still to be back-patched.
///
/// Container lengths are patched lazily. A container stays open until its parent (or an ancestor)
/// is written to again, or until the value that opened it finishes encoding; writing to a
/// container first closes every container opened after it. Writing to a container that was
/// already closed (interleaving sibling containers) is rejected with an `EncodingError`.
final class BinaryEncoderState {
    enum FrameKind: UInt8 {
        case keyed
        case unkeyed
        /// The `UInt32` length of a wire-type-4 entry or of a super-encoder region.
        case delimited
    }

    struct Frame {
        let id: Int
        /// Offset of the `UInt32` length placeholder.
        let start: Int
        let kind: FrameKind
    }

    /// `topID` when no container is open.
    static let noFrame = -2
    /// The id carried by containers that could not be opened; every write to them throws.
    static let invalidID = -1

    var buffer = ByteBuffer()
    var keys = CoderKeyTable()
    var frames: [Frame] = []
    /// The id of the innermost open container (the last frame), or ``noFrame``.
    var topID = BinaryEncoderState.noFrame
    var nextID = 0
    /// A container longer than `UInt32.max` bytes; reported when the top-level call finishes.
    var overflow: EncodingError?

    init() {}

    /// A sensible starting capacity for encoding `value` into a fresh buffer.
    static func initialCapacity<T: Encodable>(for value: T) -> Int {
        if T.self == [UInt8].self {
            return unsafeBitCast(value, to: [UInt8].self).count + CoderVarint.maxLength
        }
        if T.self == Data.self {
            return unsafeBitCast(value, to: Data.self).count + CoderVarint.maxLength
        }
        if T.self == ContiguousArray<UInt8>.self {
            return unsafeBitCast(value, to: ContiguousArray<UInt8>.self).count + CoderVarint.maxLength
        }
        return 256
    }

    // MARK: Top level and value entry

    func encodeTopLevel<T: Encodable>(_ value: T) throws {
        try self.encodeValue(value, base: 0, frameID: Self.noFrame)
        self.closeFrames(downTo: 0)
        if let overflow { throw overflow }
    }

    /// Writes `value` in its standalone form at the current position: primitives bare, optionals
    /// with a tag byte, anything else through its own `encode(to:)`.
    ///
    /// `base` is the frame depth at which containers opened by `value` start, `frameID` the id of
    /// the frame just below (the enclosing container), used to detect stale encoders.
    func encodeValue<T: Encodable>(_ value: T, base: Int, frameID: Int) throws {
        if self.encodePrimitive(value) { return }
        if _isOptional(T.self), let optional = T.self as? any CoderOptionalEncodable.Type {
            try optional.encodeTagged(value, state: self, base: base, frameID: frameID)
            return
        }
        try value.encode(to: BinaryEncoderImpl(state: self, base: base, frameID: frameID))
        if self.frames.count > base { self.closeFrames(downTo: base) }
    }

    /// Writes `value` as the payload of a keyed entry (tag included) for `key`, in the container
    /// whose frame is at `depth`.
    func encodeEntry<T: Encodable>(_ value: T, key: String, depth: Int) throws {
        if self.encodeKeyedPrimitive(value, key: key) { return }
        if _isOptional(T.self), let optional = T.self as? any CoderOptionalEncodable.Type {
            try optional.encodeEntry(value, state: self, key: key, depth: depth)
            return
        }
        try self.encodeDelimitedEntry(value, key: key, depth: depth)
    }

    /// Writes `value` as a wire-type-4 entry: tag, `UInt32` length, standalone encoding.
    func encodeDelimitedEntry<T: Encodable>(_ value: T, key: String, depth: Int) throws {
        self.writeTag(key, .container)
        let frameID = self.pushFrame(.delimited)
        try self.encodeValue(value, base: depth + 2, frameID: frameID)
        self.closeFrames(downTo: depth + 1)
    }

    // MARK: Container bookkeeping

    /// Makes the container (`id`, `depth`) the innermost open one, closing every container opened
    /// after it. Throws if that container was already closed.
    @inline(__always)
    func prepare(_ id: Int, _ depth: Int) throws {
        if self.topID != id { try self.activate(id, depth) }
    }

    func activate(_ id: Int, _ depth: Int) throws {
        guard depth >= 0, depth < self.frames.count, self.frames[depth].id == id else {
            throw CoderEncodingErrors.invalid(
                "container used after it was closed (containers must be filled before their parent is written to again)"
            )
        }
        self.closeFrames(downTo: depth + 1)
    }

    /// Prepares a write made at value level `base` (single-value container or a value entry):
    /// checks that the encoder is still current and closes containers opened at or above `base`.
    func prepareValue(base: Int, frameID: Int) throws {
        guard self.isLive(base: base, frameID: frameID) else {
            throw CoderEncodingErrors.invalid("encoder used after the value it was created for was encoded")
        }
        if self.frames.count > base { self.closeFrames(downTo: base) }
    }

    /// Whether an encoder created for value level `base` (directly above frame `frameID`) may
    /// still be used.
    @inline(__always)
    func isLive(base: Int, frameID: Int) -> Bool {
        if base == 0 { return true }
        return self.frames.count >= base && self.frames[base - 1].id == frameID
    }

    /// Writes a `UInt32` length placeholder and opens a frame for it; returns the frame id.
    func pushFrame(_ kind: FrameKind) -> Int {
        let id = self.nextID
        self.nextID += 1
        let start = self.buffer.writerIndex
        self.buffer.writeInteger(UInt32(0), endianness: .little)
        self.frames.append(Frame(id: id, start: start, kind: kind))
        self.topID = id
        return id
    }

    /// Closes (back-patches) frames until only `count` remain.
    func closeFrames(downTo count: Int) {
        while self.frames.count > count {
            let frame = self.frames.removeLast()
            let length = self.buffer.writerIndex - frame.start - 4
            if length <= Int(UInt32.max) {
                self.buffer.setInteger(UInt32(truncatingIfNeeded: length), at: frame.start, endianness: .little)
            } else if self.overflow == nil {
                self.overflow = CoderEncodingErrors.invalid("container of \(length) bytes exceeds the 4 GiB limit")
            }
        }
        self.topID = self.frames.last?.id ?? Self.noFrame
    }

    /// Opens a keyed or unkeyed container for the value at level `base`. A second request for the
    /// same kind of container by the same value (a class and its superclass sharing an encoder)
    /// continues the first one. Returns `(invalidID, -1)` for a stale encoder.
    func openContainer(_ kind: FrameKind, base: Int, frameID: Int) -> (id: Int, depth: Int) {
        guard self.isLive(base: base, frameID: frameID) else { return (Self.invalidID, -1) }
        if self.frames.count > base {
            if self.frames[base].kind == kind { return (self.frames[base].id, base) }
            self.closeFrames(downTo: base)
        }
        let id = self.pushFrame(kind)
        return (id, base)
    }

    // MARK: Keys

    /// Writes an entry tag for `key`: a back-reference to an earlier spelling of the key when one
    /// is close enough, otherwise reference 0 followed by the key string.
    func writeTag(_ key: String, _ wireType: CoderWireType) {
        let here = self.buffer.writerIndex
        if let slot = self.keys.slot(of: key) {
            let distance = here - self.keys.offset(at: slot)
            if distance <= CoderKeyTable.maxDistance {
                self.buffer.writeCoderVarint(UInt64(distance) << 3 | UInt64(wireType.rawValue))
                return
            }
            self.keys.setOffset(here, at: slot)
        } else {
            self.keys.append(key, offset: here)
        }
        self.buffer.writeInteger(wireType.rawValue)
        self.writeString(key)
    }

    // MARK: Primitive writers

    @inline(__always)
    func writeByte(_ byte: UInt8) {
        self.buffer.writeInteger(byte)
    }

    @inline(__always)
    func writeVarint(_ value: UInt64) {
        self.buffer.writeCoderVarint(value)
    }

    @inline(__always)
    func writeZigZag(_ value: Int64) {
        self.buffer.writeCoderVarint(CoderVarint.zigzag(value))
    }

    @inline(__always)
    func writeFloat(_ value: Float) {
        self.buffer.writeInteger(value.bitPattern, endianness: .little)
    }

    @inline(__always)
    func writeDouble(_ value: Double) {
        self.buffer.writeInteger(value.bitPattern, endianness: .little)
    }

    func writeInt128(_ value: Int128) {
        self.writeUInt128(UInt128(bitPattern: value))
    }

    func writeUInt128(_ value: UInt128) {
        self.buffer.writeInteger(UInt64(truncatingIfNeeded: value), endianness: .little)
        self.buffer.writeInteger(UInt64(truncatingIfNeeded: value >> 64), endianness: .little)
    }

    /// Varint byte length, then the UTF-8 bytes.
    func writeString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            self.writeRawBlock(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Varint byte length, then the bytes.
    func writeRawBlock(_ bytes: UnsafeRawBufferPointer) {
        self.buffer.reserveCapacity(minimumWritableBytes: bytes.count + CoderVarint.maxLength)
        self.buffer.writeCoderVarint(UInt64(bytes.count))
        self.buffer.writeBytes(bytes)
    }

    func writeBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.writeRawBlock($0) }
    }

    func writeBytes(_ bytes: ContiguousArray<UInt8>) {
        bytes.withUnsafeBytes { self.writeRawBlock($0) }
    }

    func writeData(_ data: Data) {
        data.withUnsafeBytes { self.writeRawBlock($0) }
    }
}
