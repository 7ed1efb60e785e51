#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Routing of generic decodes of primitives (and byte arrays / `Data`) to their direct readers.
///
/// Results are reinterpreted with `unsafeBitCast` only after ``CoderPrimitiveKind/of(_:)`` proved
/// `T` to be exactly the decoded type.
extension BinaryDecoderState {
    /// Reads the primitive `T` (of `kind`) in its standalone form.
    func decodePrimitive<T: Decodable>(_ type: T.Type, _ kind: CoderPrimitiveKind, at position: inout Int, limit: Int) throws(CoderFault) -> T {
        switch kind {
        case .string:
            return unsafeBitCast(try self.readString(&position, limit), to: T.self)
        case .int:
            return unsafeBitCast(try self.narrow(self.readZigZag(&position, limit), to: Int.self), to: T.self)
        case .bool:
            return unsafeBitCast(try self.readBool(&position, limit), to: T.self)
        case .double:
            return unsafeBitCast(Double(bitPattern: try self.readFixed64(&position, limit)), to: T.self)
        case .byteArray:
            return unsafeBitCast(try self.readByteArray(&position, limit), to: T.self)
        case .uint64:
            return unsafeBitCast(try self.readVarint(&position, limit), to: T.self)
        case .int64:
            return unsafeBitCast(try self.readZigZag(&position, limit), to: T.self)
        case .uint8:
            return unsafeBitCast(try self.readByte(&position, limit), to: T.self)
        case .data:
            return unsafeBitCast(try self.readData(&position, limit), to: T.self)
        case .int32:
            return unsafeBitCast(try self.narrow(self.readZigZag(&position, limit), to: Int32.self), to: T.self)
        case .uint32:
            return unsafeBitCast(try self.narrow(self.readVarint(&position, limit), to: UInt32.self), to: T.self)
        case .float:
            return unsafeBitCast(Float(bitPattern: try self.readFixed32(&position, limit)), to: T.self)
        case .uint:
            return unsafeBitCast(try self.narrow(self.readVarint(&position, limit), to: UInt.self), to: T.self)
        case .int8:
            return unsafeBitCast(Int8(bitPattern: try self.readByte(&position, limit)), to: T.self)
        case .int16:
            return unsafeBitCast(try self.narrow(self.readZigZag(&position, limit), to: Int16.self), to: T.self)
        case .uint16:
            return unsafeBitCast(try self.narrow(self.readVarint(&position, limit), to: UInt16.self), to: T.self)
        case .contiguousByteArray:
            return unsafeBitCast(try self.readContiguousBytes(&position, limit), to: T.self)
        case .int128:
            return unsafeBitCast(Int128(bitPattern: try self.readUInt128(&position, limit)), to: T.self)
        case .uint128:
            return unsafeBitCast(try self.readUInt128(&position, limit), to: T.self)
        case .stringArray, .intArray, .doubleArray, .boolArray, .int64Array, .uint64Array, .floatArray,
             .int32Array, .uint32Array, .optional, .composite:
            throw .notPrimitive
        }
    }

    /// Reads one of the scalar arrays of ``CoderPrimitiveKind`` (an unkeyed container of bare
    /// elements) with a direct loop, producing the same errors as the generic path would.
    func decodeArray<T>(_ type: T.Type, _ kind: CoderPrimitiveKind, at position: inout Int, limit: Int) throws -> T {
        guard self.depth < self.maxDepth else { throw CoderFault.depthExceeded(limit: self.maxDepth) }
        switch kind {
        case .stringArray:
            let array = try self.readArray(String.self, &position, limit, elementSize: nil) { (position, limit) throws(CoderFault) in
                try self.readString(&position, limit)
            }
            return unsafeBitCast(array, to: T.self)
        case .intArray:
            let array = try self.readArray(Int.self, &position, limit, elementSize: nil) { (position, limit) throws(CoderFault) in
                try self.narrow(self.readZigZag(&position, limit), to: Int.self)
            }
            return unsafeBitCast(array, to: T.self)
        case .doubleArray:
            let array = try self.readArray(Double.self, &position, limit, elementSize: 8) { (position, limit) throws(CoderFault) in
                Double(bitPattern: try self.readFixed64(&position, limit))
            }
            return unsafeBitCast(array, to: T.self)
        case .boolArray:
            let array = try self.readArray(Bool.self, &position, limit, elementSize: 1) { (position, limit) throws(CoderFault) in
                try self.readBool(&position, limit)
            }
            return unsafeBitCast(array, to: T.self)
        case .int64Array:
            let array = try self.readArray(Int64.self, &position, limit, elementSize: nil) { (position, limit) throws(CoderFault) in
                try self.readZigZag(&position, limit)
            }
            return unsafeBitCast(array, to: T.self)
        case .uint64Array:
            let array = try self.readArray(UInt64.self, &position, limit, elementSize: nil) { (position, limit) throws(CoderFault) in
                try self.readVarint(&position, limit)
            }
            return unsafeBitCast(array, to: T.self)
        case .floatArray:
            let array = try self.readArray(Float.self, &position, limit, elementSize: 4) { (position, limit) throws(CoderFault) in
                Float(bitPattern: try self.readFixed32(&position, limit))
            }
            return unsafeBitCast(array, to: T.self)
        case .int32Array:
            let array = try self.readArray(Int32.self, &position, limit, elementSize: nil) { (position, limit) throws(CoderFault) in
                try self.narrow(self.readZigZag(&position, limit), to: Int32.self)
            }
            return unsafeBitCast(array, to: T.self)
        case .uint32Array:
            let array = try self.readArray(UInt32.self, &position, limit, elementSize: nil) { (position, limit) throws(CoderFault) in
                try self.narrow(self.readVarint(&position, limit), to: UInt32.self)
            }
            return unsafeBitCast(array, to: T.self)
        default:
            throw CoderFault.notPrimitive
        }
    }

    /// Reads an unkeyed container of elements read by `read`. Capacity is reserved only for
    /// fixed-size elements, from the validated byte length.
    @inline(__always)
    private func readArray<Element>(
        _ type: Element.Type,
        _ position: inout Int,
        _ limit: Int,
        elementSize: Int?,
        _ read: (inout Int, Int) throws(CoderFault) -> Element
    ) throws -> [Element] {
        var cursor = position
        let end: Int
        do throws(CoderFault) {
            let length = try self.readU32Length(&cursor, limit)
            end = cursor + length
        } catch {
            throw CoderErrors.make(error, type: [Element].self, key: nil)
        }
        var array: [Element] = []
        if let elementSize { array.reserveCapacity((end - cursor) / elementSize) }
        do throws(CoderFault) {
            while cursor < end {
                array.append(try read(&cursor, end))
            }
        } catch {
            let failure = CoderErrors.make(error, type: Element.self, key: CoderIndexKey(array.count))
            throw CoderErrors.addingOwner(failure, owner: [Element].self)
        }
        position = end
        return array
    }

    /// Reads the primitive `T` (of `kind`) from a keyed entry, checking the wire type.
    func decodeEntryPrimitive<T: Decodable>(_ type: T.Type, _ kind: CoderPrimitiveKind, _ entry: CoderEntry) throws(CoderFault) -> T {
        switch kind {
        case .string:
            return unsafeBitCast(try self.entryString(entry), to: T.self)
        case .int:
            return unsafeBitCast(try self.entrySigned(entry, Int.self), to: T.self)
        case .bool:
            return unsafeBitCast(try self.entryBool(entry), to: T.self)
        case .double:
            return unsafeBitCast(try self.entryDouble(entry), to: T.self)
        case .byteArray:
            return unsafeBitCast(try self.entryByteArray(entry), to: T.self)
        case .uint64:
            return unsafeBitCast(try self.entryUnsigned(entry, UInt64.self), to: T.self)
        case .int64:
            return unsafeBitCast(try self.entrySigned(entry, Int64.self), to: T.self)
        case .uint8:
            return unsafeBitCast(try self.entryByte(entry), to: T.self)
        case .data:
            return unsafeBitCast(try self.entryData(entry), to: T.self)
        case .int32:
            return unsafeBitCast(try self.entrySigned(entry, Int32.self), to: T.self)
        case .uint32:
            return unsafeBitCast(try self.entryUnsigned(entry, UInt32.self), to: T.self)
        case .float:
            return unsafeBitCast(try self.entryFloat(entry), to: T.self)
        case .uint:
            return unsafeBitCast(try self.entryUnsigned(entry, UInt.self), to: T.self)
        case .int8:
            return unsafeBitCast(Int8(bitPattern: try self.entryByte(entry)), to: T.self)
        case .int16:
            return unsafeBitCast(try self.entrySigned(entry, Int16.self), to: T.self)
        case .uint16:
            return unsafeBitCast(try self.entryUnsigned(entry, UInt16.self), to: T.self)
        case .contiguousByteArray:
            return unsafeBitCast(try self.entryContiguousBytes(entry), to: T.self)
        case .int128:
            return unsafeBitCast(Int128(bitPattern: try self.entryUInt128(entry)), to: T.self)
        case .uint128:
            return unsafeBitCast(try self.entryUInt128(entry), to: T.self)
        case .stringArray, .intArray, .doubleArray, .boolArray, .int64Array, .uint64Array, .floatArray,
             .int32Array, .uint32Array, .optional, .composite:
            throw .notPrimitive
        }
    }

    // MARK: Entry readers (wire type checked, bounded by the entry)

    func entryBool(_ entry: CoderEntry) throws(CoderFault) -> Bool {
        try self.expect(entry, .byte)
        var position = entry.payload
        return try self.readBool(&position, entry.end)
    }

    func entryByte(_ entry: CoderEntry) throws(CoderFault) -> UInt8 {
        try self.expect(entry, .byte)
        var position = entry.payload
        return try self.readByte(&position, entry.end)
    }

    func entrySigned<Target: FixedWidthInteger & SignedInteger>(_ entry: CoderEntry, _ type: Target.Type) throws(CoderFault) -> Target {
        try self.expect(entry, .varint)
        var position = entry.payload
        return try self.narrow(self.readZigZag(&position, entry.end), to: Target.self)
    }

    func entryUnsigned<Target: FixedWidthInteger & UnsignedInteger>(_ entry: CoderEntry, _ type: Target.Type) throws(CoderFault) -> Target {
        try self.expect(entry, .varint)
        var position = entry.payload
        return try self.narrow(self.readVarint(&position, entry.end), to: Target.self)
    }

    func entryFloat(_ entry: CoderEntry) throws(CoderFault) -> Float {
        try self.expect(entry, .fixed32)
        var position = entry.payload
        return Float(bitPattern: try self.readFixed32(&position, entry.end))
    }

    func entryDouble(_ entry: CoderEntry) throws(CoderFault) -> Double {
        try self.expect(entry, .fixed64)
        var position = entry.payload
        return Double(bitPattern: try self.readFixed64(&position, entry.end))
    }

    func entryString(_ entry: CoderEntry) throws(CoderFault) -> String {
        try self.expect(entry, .lengthDelimited)
        var position = entry.payload
        return try self.readString(&position, entry.end)
    }

    func entryByteArray(_ entry: CoderEntry) throws(CoderFault) -> [UInt8] {
        try self.expect(entry, .lengthDelimited)
        var position = entry.payload
        return try self.readByteArray(&position, entry.end)
    }

    func entryContiguousBytes(_ entry: CoderEntry) throws(CoderFault) -> ContiguousArray<UInt8> {
        try self.expect(entry, .lengthDelimited)
        var position = entry.payload
        return try self.readContiguousBytes(&position, entry.end)
    }

    func entryData(_ entry: CoderEntry) throws(CoderFault) -> Data {
        try self.expect(entry, .lengthDelimited)
        var position = entry.payload
        return try self.readData(&position, entry.end)
    }

    func entryUInt128(_ entry: CoderEntry) throws(CoderFault) -> UInt128 {
        try self.expect(entry, .lengthDelimited)
        var position = entry.payload
        let length = try self.readLength(&position, entry.end)
        guard length == 16 else { throw .invalidFixedLength(found: UInt64(length), expected: 16) }
        return try self.readUInt128(&position, entry.end)
    }
}
