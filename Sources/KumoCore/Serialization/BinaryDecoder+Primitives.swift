#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Routing of generic decodes of primitives (and byte arrays / `Data`) to their direct readers.
///
/// Each check is a metatype comparison; results are reinterpreted with `unsafeBitCast` only after
/// `T` was proven to be exactly the decoded type.
extension BinaryDecoderState {
    /// Reads `T` in its standalone form if it is a primitive; returns nil otherwise.
    func decodePrimitive<T: Decodable>(_ type: T.Type, at position: inout Int, limit: Int) throws(CoderFault) -> T? {
        if T.self == String.self {
            return unsafeBitCast(try self.readString(&position, limit), to: T.self)
        } else if T.self == Int.self {
            return unsafeBitCast(try self.narrow(self.readZigZag(&position, limit), to: Int.self), to: T.self)
        } else if T.self == Bool.self {
            return unsafeBitCast(try self.readBool(&position, limit), to: T.self)
        } else if T.self == Double.self {
            return unsafeBitCast(Double(bitPattern: try self.readFixed64(&position, limit)), to: T.self)
        } else if T.self == [UInt8].self {
            return unsafeBitCast(try self.readByteArray(&position, limit), to: T.self)
        } else if T.self == UInt64.self {
            return unsafeBitCast(try self.readVarint(&position, limit), to: T.self)
        } else if T.self == Int64.self {
            return unsafeBitCast(try self.readZigZag(&position, limit), to: T.self)
        } else if T.self == UInt8.self {
            return unsafeBitCast(try self.readByte(&position, limit), to: T.self)
        } else if T.self == Data.self {
            return unsafeBitCast(try self.readData(&position, limit), to: T.self)
        } else if T.self == Int32.self {
            return unsafeBitCast(try self.narrow(self.readZigZag(&position, limit), to: Int32.self), to: T.self)
        } else if T.self == UInt32.self {
            return unsafeBitCast(try self.narrow(self.readVarint(&position, limit), to: UInt32.self), to: T.self)
        } else if T.self == Float.self {
            return unsafeBitCast(Float(bitPattern: try self.readFixed32(&position, limit)), to: T.self)
        } else if T.self == UInt.self {
            return unsafeBitCast(try self.narrow(self.readVarint(&position, limit), to: UInt.self), to: T.self)
        } else if T.self == Int8.self {
            return unsafeBitCast(Int8(bitPattern: try self.readByte(&position, limit)), to: T.self)
        } else if T.self == Int16.self {
            return unsafeBitCast(try self.narrow(self.readZigZag(&position, limit), to: Int16.self), to: T.self)
        } else if T.self == UInt16.self {
            return unsafeBitCast(try self.narrow(self.readVarint(&position, limit), to: UInt16.self), to: T.self)
        } else if T.self == ContiguousArray<UInt8>.self {
            return unsafeBitCast(try self.readContiguousBytes(&position, limit), to: T.self)
        } else if T.self == Int128.self {
            return unsafeBitCast(Int128(bitPattern: try self.readUInt128(&position, limit)), to: T.self)
        } else if T.self == UInt128.self {
            return unsafeBitCast(try self.readUInt128(&position, limit), to: T.self)
        }
        return nil
    }

    /// Reads `T` from a keyed entry if it is a primitive (checking the wire type); returns nil
    /// otherwise.
    func decodeEntryPrimitive<T: Decodable>(_ type: T.Type, _ entry: CoderEntry) throws(CoderFault) -> T? {
        if T.self == String.self {
            return unsafeBitCast(try self.entryString(entry), to: T.self)
        } else if T.self == Int.self {
            return unsafeBitCast(try self.entrySigned(entry, Int.self), to: T.self)
        } else if T.self == Bool.self {
            return unsafeBitCast(try self.entryBool(entry), to: T.self)
        } else if T.self == Double.self {
            return unsafeBitCast(try self.entryDouble(entry), to: T.self)
        } else if T.self == [UInt8].self {
            return unsafeBitCast(try self.entryByteArray(entry), to: T.self)
        } else if T.self == UInt64.self {
            return unsafeBitCast(try self.entryUnsigned(entry, UInt64.self), to: T.self)
        } else if T.self == Int64.self {
            return unsafeBitCast(try self.entrySigned(entry, Int64.self), to: T.self)
        } else if T.self == UInt8.self {
            return unsafeBitCast(try self.entryByte(entry), to: T.self)
        } else if T.self == Data.self {
            return unsafeBitCast(try self.entryData(entry), to: T.self)
        } else if T.self == Int32.self {
            return unsafeBitCast(try self.entrySigned(entry, Int32.self), to: T.self)
        } else if T.self == UInt32.self {
            return unsafeBitCast(try self.entryUnsigned(entry, UInt32.self), to: T.self)
        } else if T.self == Float.self {
            return unsafeBitCast(try self.entryFloat(entry), to: T.self)
        } else if T.self == UInt.self {
            return unsafeBitCast(try self.entryUnsigned(entry, UInt.self), to: T.self)
        } else if T.self == Int8.self {
            return unsafeBitCast(Int8(bitPattern: try self.entryByte(entry)), to: T.self)
        } else if T.self == Int16.self {
            return unsafeBitCast(try self.entrySigned(entry, Int16.self), to: T.self)
        } else if T.self == UInt16.self {
            return unsafeBitCast(try self.entryUnsigned(entry, UInt16.self), to: T.self)
        } else if T.self == ContiguousArray<UInt8>.self {
            return unsafeBitCast(try self.entryContiguousBytes(entry), to: T.self)
        } else if T.self == Int128.self {
            return unsafeBitCast(Int128(bitPattern: try self.entryUInt128(entry)), to: T.self)
        } else if T.self == UInt128.self {
            return unsafeBitCast(try self.entryUInt128(entry), to: T.self)
        }
        return nil
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
