#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// The mutable state of one top-level encode call: the output, the key table and the stack of
/// containers whose `UInt32` length is still to be back-patched.
///
/// Container lengths are patched lazily. A container stays open until its parent (or an ancestor)
/// is written to again, or until the value that opened it finishes encoding; writing to a
/// container first closes every container opened after it. Writing to a container that was
/// already closed (interleaving sibling containers) is rejected with an `EncodingError`.
///
/// Output goes straight into the storage of the caller's `ByteBuffer` (moved into the state for
/// the duration of the call, so it is uniquely owned): `base` points at the storage, `writeIndex`
/// is the next byte, and only growing the buffer goes through `ByteBuffer` API. This replaces
/// several `ByteBuffer` calls per field by plain stores.
///
/// The stored properties opt out of dynamic exclusivity enforcement (`@exclusivity(unchecked)`):
/// they are touched on every field and the runtime checks dominated the encoding cost. This is
/// sound because no method holds an access to a property across a call that could reach the
/// same property again (closures passed to buffer APIs never touch the state).
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

    /// The output buffer; its `writerIndex` lags behind ``writeIndex`` until ``finish()``.
    @exclusivity(unchecked) var buffer = ByteBuffer()
    /// The storage of ``buffer`` (its index 0), valid until the buffer grows; nil when unknown.
    @exclusivity(unchecked) var base: UnsafeMutableRawPointer?
    /// The buffer index of the next byte to write.
    @exclusivity(unchecked) var writeIndex = 0
    /// The buffer's capacity when ``base`` was taken.
    @exclusivity(unchecked) var capacity = 0
    @exclusivity(unchecked) var keys = CoderKeyTable()
    @exclusivity(unchecked) var frames: [Frame] = []
    /// The id of the innermost open container (the last frame), or ``noFrame``.
    @exclusivity(unchecked) var topID = BinaryEncoderState.noFrame
    @exclusivity(unchecked) var nextID = 0
    /// The length of a container that exceeded `UInt32.max` bytes, reported when the top-level
    /// call finishes; 0 if none did.
    @exclusivity(unchecked) var overflowLength = 0
    /// `[UInt8]` values longer than this become attachments (``BinaryAttachments``).
    let attachmentThreshold: Int
    /// The attachments of the encoding (the caller's, moved in for the call).
    @exclusivity(unchecked) var attachments: [[UInt8]] = []
    let userInfo: [CodingUserInfoKey: any Sendable]
    /// ``userInfo`` as `Encoder.userInfo` wants it, converted on first use.
    lazy var userInfoAny: [CodingUserInfoKey: Any] = self.userInfo.isEmpty ? [:] : self.userInfo.mapValues { $0 }

    init(userInfo: [CodingUserInfoKey: any Sendable], attachmentThreshold: Int = .max) {
        self.userInfo = userInfo
        self.attachmentThreshold = attachmentThreshold
    }

    // MARK: Output

    /// Starts writing at the end of ``buffer``.
    func start(reserving bytes: Int) {
        self.base = nil
        self.grow(bytes)
    }

    /// Publishes the written bytes (moves the buffer's writer index) and forgets the storage
    /// pointer, so a container that escaped the call can no longer reach the caller's memory.
    func finish() {
        if self.base != nil {
            self.buffer.moveWriterIndex(to: self.writeIndex)
        }
        self.base = nil
        self.capacity = 0
        self.frames.removeAll()
        self.topID = Self.noFrame
    }

    /// A pointer to at least `count` writable bytes at ``writeIndex``.
    @inline(__always)
    func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        if let base = self.base, self.capacity - self.writeIndex >= count {
            return base + self.writeIndex
        }
        return self.grow(count)
    }

    /// Makes room for `count` more bytes, re-reads the storage pointer and returns the write
    /// position.
    @inline(never)
    @discardableResult
    func grow(_ count: Int) -> UnsafeMutableRawPointer {
        if self.base == nil {
            // Before the first write, or after `finish()` (a container that escaped the call
            // writing late, into the state's private buffer).
            self.writeIndex = self.buffer.writerIndex
        } else {
            self.buffer.moveWriterIndex(to: self.writeIndex)
        }
        self.buffer.reserveCapacity(minimumWritableBytes: max(count, 64))
        let grown = self.buffer.capacity != self.capacity
        self.capacity = self.buffer.capacity
        guard let base = self.buffer.withVeryUnsafeMutableBytes({ storage in
            if grown { HugePages.advise(storage) }
            return storage.baseAddress
        }) else {
            // Unreachable: the buffer was just given at least 64 bytes of capacity.
            preconditionFailure("ByteBuffer has no storage after reserving capacity")
        }
        self.base = base
        return base + self.writeIndex
    }

    /// Stores a little-endian `UInt32` at buffer index `offset` (already written).
    @inline(__always)
    func patchUInt32(_ value: UInt32, at offset: Int) {
        self.base?.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// A sensible starting capacity for encoding `value` into a fresh buffer.
    static func initialCapacity<T: Encodable>(for value: T) -> Int {
        EncodedSizeHint.of(value).map { $0 + CoderVarint.maxLength } ?? 256
    }

    // MARK: Top level and value entry

    func encodeTopLevel<T: Encodable>(_ value: T) throws {
        try self.encodeValue(value, base: 0, frameID: Self.noFrame)
        self.closeFrames(downTo: 0)
        if self.overflowLength > 0 {
            throw CoderEncodingErrors.invalid("container of \(self.overflowLength) bytes exceeds the 4 GiB limit")
        }
    }

    /// Writes `value` in its standalone form at the current position: primitives bare, optionals
    /// with a tag byte, anything else through its own `encode(to:)`.
    ///
    /// `base` is the frame depth at which containers opened by `value` start, `frameID` the id of
    /// the frame just below (the enclosing container), used to detect stale encoders.
    func encodeValue<T: Encodable>(_ value: T, base: Int, frameID: Int) throws {
        let kind = CoderPrimitiveKind.of(T.self)
        switch kind {
        case .composite:
            break
        case .optional:
            if let optional = T.self as? any CoderOptionalEncodable.Type {
                try optional.encodeTagged(value, state: self, base: base, frameID: frameID)
                return
            }
        default:
            _ = self.encodePrimitive(value, kind)
            return
        }
        try value.encode(to: BinaryEncoderImpl(state: self, base: base, frameID: frameID))
        if self.frames.count > base { self.closeFrames(downTo: base) }
    }

    /// Writes `value` as the payload of a keyed entry (tag included) for `key`, in the container
    /// whose frame is at `depth`.
    func encodeEntry<T: Encodable>(_ value: T, key: String, depth: Int) throws {
        let kind = CoderPrimitiveKind.of(T.self)
        if kind.isScalar {
            _ = self.encodeKeyedPrimitive(value, kind, key: key)
            return
        }
        if kind == .optional, let optional = T.self as? any CoderOptionalEncodable.Type {
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
        let start = self.writeIndex
        self.reserve(4).storeBytes(of: UInt32(0), as: UInt32.self)
        self.writeIndex += 4
        if self.frames.capacity == 0 { self.frames.reserveCapacity(16) }
        self.frames.append(Frame(id: id, start: start, kind: kind))
        self.topID = id
        return id
    }

    /// Closes (back-patches) frames until only `count` remain.
    func closeFrames(downTo count: Int) {
        while self.frames.count > count {
            let frame = self.frames.removeLast()
            let length = self.writeIndex - frame.start - 4
            if length <= Int(UInt32.max) {
                self.patchUInt32(UInt32(truncatingIfNeeded: length), at: frame.start)
            } else if self.overflowLength == 0 {
                self.overflowLength = length
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
        let here = self.writeIndex
        var fingerprint: UInt64?
        if let slot = self.keys.slot(of: key, fingerprint: &fingerprint) {
            let distance = here - self.keys.offset(at: slot)
            if distance <= CoderKeyTable.maxDistance {
                self.writeVarint(UInt64(distance) << 3 | UInt64(wireType.rawValue))
                return
            }
            self.keys.setOffset(here, at: slot)
        } else {
            self.keys.append(key, fingerprint: fingerprint, offset: here)
        }
        self.writeByte(wireType.rawValue)
        self.writeString(key)
    }

    // MARK: Primitive writers

    @inline(__always)
    func writeByte(_ byte: UInt8) {
        self.reserve(1).storeBytes(of: byte, as: UInt8.self)
        self.writeIndex += 1
    }

    @inline(__always)
    func writeVarint(_ value: UInt64) {
        self.writeIndex += CoderVarint.write(value, to: self.reserve(CoderVarint.maxLength))
    }

    @inline(__always)
    func writeZigZag(_ value: Int64) {
        self.writeVarint(CoderVarint.zigzag(value))
    }

    @inline(__always)
    func writeFixed32(_ value: UInt32) {
        self.reserve(4).storeBytes(of: value.littleEndian, as: UInt32.self)
        self.writeIndex += 4
    }

    @inline(__always)
    func writeFixed64(_ value: UInt64) {
        self.reserve(8).storeBytes(of: value.littleEndian, as: UInt64.self)
        self.writeIndex += 8
    }

    @inline(__always)
    func writeFloat(_ value: Float) {
        self.writeFixed32(value.bitPattern)
    }

    @inline(__always)
    func writeDouble(_ value: Double) {
        self.writeFixed64(value.bitPattern)
    }

    func writeInt128(_ value: Int128) {
        self.writeUInt128(UInt128(bitPattern: value))
    }

    func writeUInt128(_ value: UInt128) {
        self.writeFixed64(UInt64(truncatingIfNeeded: value))
        self.writeFixed64(UInt64(truncatingIfNeeded: value >> 64))
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
        let count = bytes.count
        let out = self.reserve(count + CoderVarint.maxLength)
        let prefix = CoderVarint.write(UInt64(count), to: out)
        if count > 0 {
            UnsafeMutableRawBufferPointer(start: out + prefix, count: count).copyMemory(from: bytes)
        }
        self.writeIndex += prefix + count
    }

    func writeBytes(_ bytes: [UInt8]) {
        if bytes.count > self.attachmentThreshold {
            // Left where it is: a reference now, the array itself beside the encoding.
            self.writeVarint(CoderAttachment.marker + UInt64(self.attachments.count))
            self.attachments.append(bytes)
            return
        }
        bytes.withUnsafeBytes { self.writeRawBlock($0) }
    }

    func writeBytes(_ bytes: ContiguousArray<UInt8>) {
        bytes.withUnsafeBytes { self.writeRawBlock($0) }
    }

    func writeData(_ data: Data) {
        data.withUnsafeBytes { self.writeRawBlock($0) }
    }
}
