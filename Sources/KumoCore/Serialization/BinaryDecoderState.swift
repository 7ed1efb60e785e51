#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where one keyed-container entry's payload lies.
struct CoderEntry {
    /// The raw wire type (0…6).
    let wireType: UInt8
    /// Offset of the first payload byte.
    let payload: Int
    /// Offset just past the entry.
    let end: Int
}

/// An entry as found while scanning a keyed container, including where its key's UTF-8 lies.
struct CoderRawEntry {
    let entry: CoderEntry
    let keyStart: Int
    let keyLength: Int
}

/// The read state of one keyed container.
struct CoderKeyedFrame {
    let id: Int
    /// Offset of the first entry.
    let start: Int
    /// Offset just past the last entry.
    let end: Int
    /// The entry the next in-order lookup expects.
    var cursor: Int
    /// Lookups that missed the cursor and were answered by a linear scan.
    var misses: Int = 0
    /// Key → entry, built once the container has been scanned more than a few times.
    var lookup: [String: CoderEntry]?
}

/// The state of one top-level decode call: the input bytes (valid only during the call), the
/// nesting depth, the keyed containers currently in use and the bookkeeping of the value level
/// being decoded.
///
/// The stored properties opt out of dynamic exclusivity enforcement (`@exclusivity(unchecked)`),
/// which otherwise dominated the decoding cost; no method holds an access to a property across a
/// call that could reach the same property again.
final class BinaryDecoderState {
    /// The input. Emptied when the top-level call returns so that an escaped decoder or container
    /// can only fail, never read freed memory.
    @exclusivity(unchecked) var bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    @exclusivity(unchecked) var depth = 0
    /// Read position of single-value containers.
    @exclusivity(unchecked) var position = 0
    @exclusivity(unchecked) var frames: [CoderKeyedFrame] = []
    @exclusivity(unchecked) var nextFrameID = 0

    /// Start of the value level being decoded (its decoder's `start`).
    @exclusivity(unchecked) var levelStart = -1
    /// End of that value, once a keyed or unkeyed container revealed it; -1 before.
    @exclusivity(unchecked) var levelEnd = -1
    /// Index in `frames` of that value's keyed container, reused if requested again.
    @exclusivity(unchecked) var levelFrame = -1
    /// Whether that value asked its decoder for any container.
    @exclusivity(unchecked) var levelRequested = false

    /// Linear scans per container before a lookup table is built.
    static let maxLinearScans = 8

    let userInfo: [CodingUserInfoKey: any Sendable]
    /// ``userInfo`` as `Decoder.userInfo` wants it, converted on first use.
    lazy var userInfoAny: [CodingUserInfoKey: Any] = self.userInfo.isEmpty ? [:] : self.userInfo.mapValues { $0 }
    /// The byte arrays that references in the input stand for, if any came with it.
    let attachments: BinaryAttachments?

    init(
        bytes: UnsafeRawBufferPointer, maxDepth: Int, userInfo: [CodingUserInfoKey: any Sendable],
        attachments: BinaryAttachments? = nil
    ) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.userInfo = userInfo
        self.attachments = attachments
    }

    func invalidate() {
        self.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        self.frames.removeAll()
        self.levelStart = -1
        self.levelFrame = -1
    }

    // MARK: Value entry

    /// Decodes a value in its standalone form at `position`, reading no further than `limit`, and
    /// moves `position` past it.
    ///
    /// (Generic helpers here return plain `T` and pass positions `inout`: returning `T?` or a
    /// tuple containing `T` would make the runtime look up `Optional<T>` / tuple metadata on
    /// every call.)
    func decodeValue<T: Decodable>(_ type: T.Type, at position: inout Int, limit: Int) throws -> T {
        let kind = CoderPrimitiveKind.of(T.self)
        switch kind {
        case .composite:
            return try self.decodeComposite(T.self, at: &position, limit: limit)
        case .optional:
            if let optional = T.self as? any CoderOptionalDecodable.Type {
                return try optional.decodeTagged(T.self, state: self, at: &position, limit: limit)
            }
            return try self.decodeComposite(T.self, at: &position, limit: limit)
        case .stringArray, .intArray, .doubleArray, .boolArray, .int64Array, .uint64Array, .floatArray,
             .int32Array, .uint32Array:
            return try self.decodeArray(T.self, kind, at: &position, limit: limit)
        default:
            return try self.decodePrimitive(T.self, kind, at: &position, limit: limit)
        }
    }

    /// Runs `T.init(from:)` on the value at `position`, enforcing the depth limit and naming `T`
    /// in errors that unwind through it; moves `position` past the value.
    func decodeComposite<T: Decodable>(_ type: T.Type, at position: inout Int, limit: Int) throws -> T {
        let start = position
        guard self.depth < self.maxDepth else { throw CoderFault.depthExceeded(limit: self.maxDepth) }
        self.depth += 1
        let savedStart = self.levelStart
        let savedEnd = self.levelEnd
        let savedFrame = self.levelFrame
        let savedRequested = self.levelRequested
        let savedFrameCount = self.frames.count
        self.levelStart = start
        self.levelEnd = -1
        self.levelFrame = -1
        self.levelRequested = false
        self.position = start
        defer {
            self.depth -= 1
            self.levelStart = savedStart
            self.levelEnd = savedEnd
            self.levelFrame = savedFrame
            self.levelRequested = savedRequested
            while self.frames.count > savedFrameCount {
                self.frames.removeLast()
            }
        }
        do {
            let value = try T(from: BinaryDecoderImpl(state: self, start: start, limit: limit))
            if self.levelEnd >= 0 {
                position = self.levelEnd
            } else if !self.levelRequested, limit - start >= 4,
                self.bytes.loadUnaligned(fromByteOffset: start, as: UInt32.self) == 0
            {
                // The value read nothing, but an empty keyed container follows: what synthesized
                // `Codable` writes for a type without stored properties (its `encode(to:)` opens
                // a container, its `init(from:)` does not). Consume it as the value's encoding.
                position = start + 4
            } else {
                position = self.position
            }
            return value
        } catch {
            throw CoderErrors.addingOwner(error, owner: T.self)
        }
    }

    /// Decodes `T` from a keyed entry: primitives by wire type, optionals per the keyed optional
    /// rules, anything else from a wire-type-4 payload.
    func decodeEntry<T: Decodable>(_ type: T.Type, _ entry: CoderEntry) throws -> T {
        let kind = CoderPrimitiveKind.of(T.self)
        if kind.isScalar {
            return try self.decodeEntryPrimitive(T.self, kind, entry)
        }
        if kind == .optional, let optional = T.self as? any CoderOptionalDecodable.Type {
            return try optional.decodeEntry(T.self, state: self, entry: entry)
        }
        return try self.decodeDelimited(T.self, entry)
    }

    /// Decodes the standalone form of `T` held in a wire-type-4 entry.
    func decodeDelimited<T: Decodable>(_ type: T.Type, _ entry: CoderEntry) throws -> T {
        try self.expect(entry, .container)
        var position = entry.payload
        let length = try self.readU32Length(&position, entry.end)
        let end = position + length
        return try self.decodeValue(T.self, at: &position, limit: end)
    }

    // MARK: Containers

    /// Opens the keyed container of the value at `start` and returns its frame index and id.
    func openKeyed(start: Int, limit: Int) throws(CoderFault) -> (index: Int, id: Int) {
        if start == self.levelStart { self.levelRequested = true }
        if start == self.levelStart, self.levelFrame >= 0, self.levelFrame < self.frames.count {
            return (self.levelFrame, self.frames[self.levelFrame].id)
        }
        var position = start
        let length = try self.readU32Length(&position, limit)
        let id = self.nextFrameID
        self.nextFrameID += 1
        if self.frames.capacity == 0 { self.frames.reserveCapacity(16) }
        self.frames.append(CoderKeyedFrame(id: id, start: position, end: position + length, cursor: position))
        let index = self.frames.count - 1
        if start == self.levelStart {
            self.levelFrame = index
            self.levelEnd = position + length
        }
        return (index, id)
    }

    /// Opens the unkeyed container of the value at `start`; returns its element range.
    func openUnkeyed(start: Int, limit: Int) throws(CoderFault) -> (start: Int, end: Int) {
        if start == self.levelStart { self.levelRequested = true }
        var position = start
        let length = try self.readU32Length(&position, limit)
        if start == self.levelStart { self.levelEnd = position + length }
        return (position, position + length)
    }

    /// Parses the entry at `position` (moving past it) within a container ending at `limit`.
    func parseEntry(at position: inout Int, limit: Int) throws(CoderFault) -> CoderRawEntry {
        let tagStart = position
        let tag = try self.bytes.readCoderVarint(at: &position, limit: limit)
        let wireType = UInt8(truncatingIfNeeded: tag & 7)
        let reference = tag >> 3
        let keyStart: Int
        let keyLength: Int
        if reference == 0 {
            keyLength = try self.readLength(&position, limit)
            keyStart = position
            position += keyLength
        } else {
            (keyStart, keyLength) = try self.resolveKeyReference(reference, from: tagStart)
        }
        let payload = position
        switch wireType {
        case CoderWireType.varint.rawValue:
            try self.bytes.skipCoderVarint(at: &position, limit: limit)
        case CoderWireType.fixed64.rawValue:
            try self.skip(8, &position, limit)
        case CoderWireType.lengthDelimited.rawValue:
            // A block, or a reference to an attachment in its place (no payload bytes).
            let length = try self.bytes.readCoderVarint(at: &position, limit: limit)
            if CoderAttachment.index(fromLength: length) == nil {
                let available = limit - position
                guard length <= UInt64(available) else { throw .lengthExceedsInput(length: length, available: available) }
                position += Int(length)
            }
        case CoderWireType.null.rawValue:
            break
        case CoderWireType.container.rawValue:
            let length = try self.readU32Length(&position, limit)
            position += length
        case CoderWireType.fixed32.rawValue:
            try self.skip(4, &position, limit)
        case CoderWireType.byte.rawValue:
            try self.skip(1, &position, limit)
        default:
            throw .invalidWireType(wireType)
        }
        return CoderRawEntry(
            entry: CoderEntry(wireType: wireType, payload: payload, end: position),
            keyStart: keyStart,
            keyLength: keyLength
        )
    }

    /// Follows a key back-reference: `distance` bytes before `tagStart` must start an entry tag
    /// that spells its key out. Such a tag has reference 0, so it is the single byte `0…7`.
    @inline(__always)
    private func resolveKeyReference(_ distance: UInt64, from tagStart: Int) throws(CoderFault) -> (Int, Int) {
        guard distance <= UInt64(tagStart) else { throw .badKeyReference }
        let definition = tagStart - Int(distance)
        guard self.bytes[definition] < 8 else { throw .badKeyReference }
        var position = definition + 1
        let limit = self.bytes.count
        guard position < limit else { throw .badKeyReference }
        let first = self.bytes[position]
        if first < 0x80, limit - position > Int(first) {
            return (position + 1, Int(first))
        }
        do {
            let length = try self.readLength(&position, limit)
            return (position, length)
        } catch {
            throw .badKeyReference
        }
    }

    /// Whether the UTF-8 bytes at `start..<start+length` spell `key`.
    @inline(__always)
    func keyMatches(_ key: String, start: Int, length: Int) -> Bool {
        let utf8 = key.utf8
        guard utf8.count == length else { return false }
        guard length > 0, let base = self.bytes.baseAddress else { return length == 0 }
        let candidate = base + start
        if let equal = utf8.withContiguousStorageIfAvailable({ expected -> Bool in
            var index = 0
            while index < length {
                if expected[index] != candidate.load(fromByteOffset: index, as: UInt8.self) { return false }
                index += 1
            }
            return true
        }) {
            return equal
        }
        return utf8.elementsEqual(UnsafeRawBufferPointer(start: candidate, count: length))
    }

    /// Builds the key string of a scanned entry, validating its UTF-8.
    func keyString(_ raw: CoderRawEntry) throws(CoderFault) -> String {
        try self.string(start: raw.keyStart, length: raw.keyLength)
    }

    // MARK: Keyed lookup

    /// Finds `key` in the container at `frames[index]`: first at its cursor (the in-order fast
    /// path), then by scanning. Returns nil if the container has no such entry.
    func findEntry(_ key: String, frame index: Int, id: Int) throws(CoderFault) -> CoderEntry? {
        guard index < self.frames.count, self.frames[index].id == id else { throw .containerExpired }
        let cursor = self.frames[index].cursor
        let end = self.frames[index].end
        if cursor < end {
            var position = cursor
            let raw = try self.parseEntry(at: &position, limit: end)
            if self.keyMatches(key, start: raw.keyStart, length: raw.keyLength) {
                return raw.entry
            }
        }
        return try self.findEntryOutOfOrder(key, frame: index)
    }

    private func findEntryOutOfOrder(_ key: String, frame index: Int) throws(CoderFault) -> CoderEntry? {
        if self.frames[index].lookup == nil {
            if self.frames[index].misses < Self.maxLinearScans, key.utf8.allSatisfy({ $0 < 0x80 }) {
                // Few misses so far (typically absent optional fields): scan without allocating.
                self.frames[index].misses += 1
                var position = self.frames[index].start
                let end = self.frames[index].end
                while position < end {
                    let raw = try self.parseEntry(at: &position, limit: end)
                    if self.keyMatches(key, start: raw.keyStart, length: raw.keyLength) {
                        return raw.entry
                    }
                }
                return nil
            }
            try self.buildLookup(frame: index)
        }
        return self.frames[index].lookup?[key]
    }

    private func buildLookup(frame index: Int) throws(CoderFault) {
        var lookup: [String: CoderEntry] = [:]
        var position = self.frames[index].start
        let end = self.frames[index].end
        while position < end {
            let raw = try self.parseEntry(at: &position, limit: end)
            let key = try self.keyString(raw)
            if lookup[key] == nil { lookup[key] = raw.entry }
        }
        self.frames[index].lookup = lookup
    }

    /// Moves the cursor of `frames[index]` past a consumed entry.
    @inline(__always)
    func advance(frame index: Int, to offset: Int) {
        if index < self.frames.count { self.frames[index].cursor = offset }
    }

    /// Every key of the container at `frames[index]`, in wire order (duplicates kept).
    func allKeyStrings(frame index: Int, id: Int) throws(CoderFault) -> [String] {
        guard index < self.frames.count, self.frames[index].id == id else { throw .containerExpired }
        var keys: [String] = []
        var position = self.frames[index].start
        let end = self.frames[index].end
        while position < end {
            let raw = try self.parseEntry(at: &position, limit: end)
            keys.append(try self.keyString(raw))
        }
        return keys
    }

    // MARK: Readers

    @inline(__always)
    func expect(_ entry: CoderEntry, _ wireType: CoderWireType) throws(CoderFault) {
        guard entry.wireType == wireType.rawValue else {
            if entry.wireType == CoderWireType.null.rawValue { throw .nilValue }
            throw .wireTypeMismatch(found: entry.wireType, expected: wireType.rawValue)
        }
    }

    @inline(__always)
    func skip(_ count: Int, _ position: inout Int, _ limit: Int) throws(CoderFault) {
        let available = limit - position
        guard available >= count else { throw .truncated(needed: count - available) }
        position += count
    }

    @inline(__always)
    func readByte(_ position: inout Int, _ limit: Int) throws(CoderFault) -> UInt8 {
        guard position < limit else { throw .truncated(needed: 1) }
        let byte = self.bytes[position]
        position += 1
        return byte
    }

    @inline(__always)
    func readBool(_ position: inout Int, _ limit: Int) throws(CoderFault) -> Bool {
        let byte = try self.readByte(&position, limit)
        guard byte <= 1 else { throw .invalidBool(byte) }
        return byte == 1
    }

    @inline(__always)
    func readVarint(_ position: inout Int, _ limit: Int) throws(CoderFault) -> UInt64 {
        try self.bytes.readCoderVarint(at: &position, limit: limit)
    }

    @inline(__always)
    func readZigZag(_ position: inout Int, _ limit: Int) throws(CoderFault) -> Int64 {
        CoderVarint.unzigzag(try self.bytes.readCoderVarint(at: &position, limit: limit))
    }

    @inline(__always)
    func readFixed32(_ position: inout Int, _ limit: Int) throws(CoderFault) -> UInt32 {
        let start = position
        try self.skip(4, &position, limit)
        return UInt32(littleEndian: self.bytes.loadUnaligned(fromByteOffset: start, as: UInt32.self))
    }

    @inline(__always)
    func readFixed64(_ position: inout Int, _ limit: Int) throws(CoderFault) -> UInt64 {
        let start = position
        try self.skip(8, &position, limit)
        return UInt64(littleEndian: self.bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
    }

    func readUInt128(_ position: inout Int, _ limit: Int) throws(CoderFault) -> UInt128 {
        let low = try self.readFixed64(&position, limit)
        let high = try self.readFixed64(&position, limit)
        return UInt128(high) << 64 | UInt128(low)
    }

    /// A varint length that must fit in the bytes before `limit`.
    @inline(__always)
    func readLength(_ position: inout Int, _ limit: Int) throws(CoderFault) -> Int {
        let length = try self.bytes.readCoderVarint(at: &position, limit: limit)
        let available = limit - position
        guard length <= UInt64(available) else { throw .lengthExceedsInput(length: length, available: available) }
        return Int(length)
    }

    /// A `UInt32` little-endian length that must fit in the bytes before `limit`.
    @inline(__always)
    func readU32Length(_ position: inout Int, _ limit: Int) throws(CoderFault) -> Int {
        let length = try self.readFixed32(&position, limit)
        let available = limit - position
        guard UInt64(length) <= UInt64(available) else {
            throw .lengthExceedsInput(length: UInt64(length), available: available)
        }
        return Int(length)
    }

    /// Validated UTF-8 at `start..<start+length` (already bounds-checked by the caller).
    func string(start: Int, length: Int) throws(CoderFault) -> String {
        if length == 0 { return "" }
        guard let string = CoderUTF8.string(UnsafeRawBufferPointer(rebasing: self.bytes[start..<(start + length)])) else {
            throw .invalidUTF8
        }
        return string
    }

    func readString(_ position: inout Int, _ limit: Int) throws(CoderFault) -> String {
        let length = try self.readLength(&position, limit)
        let string = try self.string(start: position, length: length)
        position += length
        return string
    }

    /// The raw bytes of a length-prefixed block; `length` is checked against the input first.
    func readBlock(_ position: inout Int, _ limit: Int) throws(CoderFault) -> UnsafeRawBufferPointer {
        let length = try self.readLength(&position, limit)
        let block = UnsafeRawBufferPointer(rebasing: self.bytes[position..<(position + length)])
        position += length
        return block
    }

    /// A byte block as it lies in the input, or the attachment a reference in its place stands for.
    enum ByteBlock {
        case inline(UnsafeRawBufferPointer)
        case attached([UInt8])
    }

    /// Reads a byte block or an attachment reference (taking the attachment).
    func readByteBlock(_ position: inout Int, _ limit: Int) throws(CoderFault) -> ByteBlock {
        var afterLength = position
        let length = try self.bytes.readCoderVarint(at: &afterLength, limit: limit)
        guard let index = CoderAttachment.index(fromLength: length) else {
            return .inline(try self.readBlock(&position, limit))
        }
        guard let array = self.attachments?.take(index) else { throw .missingAttachment(index) }
        position = afterLength
        return .attached(array)
    }

    func readByteArray(_ position: inout Int, _ limit: Int) throws(CoderFault) -> [UInt8] {
        let block: UnsafeRawBufferPointer
        switch try self.readByteBlock(&position, limit) {
        case .attached(let array): return array
        case .inline(let bytes): block = bytes
        }
        return [UInt8](unsafeUninitializedCapacity: block.count) { buffer, initialized in
            HugePages.advise(UnsafeMutableRawBufferPointer(buffer))
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: block)
            initialized = block.count
        }
    }

    func readContiguousBytes(_ position: inout Int, _ limit: Int) throws(CoderFault) -> ContiguousArray<UInt8> {
        let block: UnsafeRawBufferPointer
        switch try self.readByteBlock(&position, limit) {
        case .attached(let array): return ContiguousArray(array)
        case .inline(let bytes): block = bytes
        }
        return ContiguousArray<UInt8>(unsafeUninitializedCapacity: block.count) { buffer, initialized in
            HugePages.advise(UnsafeMutableRawBufferPointer(buffer))
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: block)
            initialized = block.count
        }
    }

    func readData(_ position: inout Int, _ limit: Int) throws(CoderFault) -> Data {
        let block: UnsafeRawBufferPointer
        switch try self.readByteBlock(&position, limit) {
        case .attached(let array): return Data(array)
        case .inline(let bytes): block = bytes
        }
        guard let base = block.baseAddress, block.count > 0 else { return Data() }
        return Data(bytes: base, count: block.count)
    }

    /// Narrows a decoded integer, failing if it does not fit.
    @inline(__always)
    func narrow<Source: BinaryInteger, Target: FixedWidthInteger>(_ value: Source, to: Target.Type) throws(CoderFault) -> Target {
        guard let narrowed = Target(exactly: value) else {
            throw .integerOverflow(value: String(value), type: String(describing: Target.self))
        }
        return narrowed
    }
}
