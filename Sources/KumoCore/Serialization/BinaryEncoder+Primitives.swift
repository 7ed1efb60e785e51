#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Routing of generic values that are really primitives to their direct encodings.
///
/// Each check is a metatype comparison (no dynamic cast), and the value is reinterpreted with
/// `unsafeBitCast` only after its type was proven identical.
extension BinaryEncoderState {
    /// Writes `value` bare if it is a primitive (or a byte array / `Data`); returns whether it was.
    func encodePrimitive<T: Encodable>(_ value: T) -> Bool {
        if T.self == String.self {
            self.writeString(unsafeBitCast(value, to: String.self))
        } else if T.self == Int.self {
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int.self)))
        } else if T.self == Bool.self {
            self.writeByte(unsafeBitCast(value, to: Bool.self) ? 1 : 0)
        } else if T.self == Double.self {
            self.writeDouble(unsafeBitCast(value, to: Double.self))
        } else if T.self == [UInt8].self {
            self.writeBytes(unsafeBitCast(value, to: [UInt8].self))
        } else if T.self == UInt64.self {
            self.writeVarint(unsafeBitCast(value, to: UInt64.self))
        } else if T.self == Int64.self {
            self.writeZigZag(unsafeBitCast(value, to: Int64.self))
        } else if T.self == UInt8.self {
            self.writeByte(unsafeBitCast(value, to: UInt8.self))
        } else if T.self == Data.self {
            self.writeData(unsafeBitCast(value, to: Data.self))
        } else if T.self == Int32.self {
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int32.self)))
        } else if T.self == UInt32.self {
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt32.self)))
        } else if T.self == Float.self {
            self.writeFloat(unsafeBitCast(value, to: Float.self))
        } else if T.self == UInt.self {
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt.self)))
        } else if T.self == Int8.self {
            self.writeByte(UInt8(bitPattern: unsafeBitCast(value, to: Int8.self)))
        } else if T.self == Int16.self {
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int16.self)))
        } else if T.self == UInt16.self {
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt16.self)))
        } else if T.self == ContiguousArray<UInt8>.self {
            self.writeBytes(unsafeBitCast(value, to: ContiguousArray<UInt8>.self))
        } else if T.self == Int128.self {
            self.writeInt128(unsafeBitCast(value, to: Int128.self))
        } else if T.self == UInt128.self {
            self.writeUInt128(unsafeBitCast(value, to: UInt128.self))
        } else {
            return false
        }
        return true
    }

    /// Writes `value` as a keyed entry (tag, then payload) if it is a primitive; returns whether
    /// it was.
    func encodeKeyedPrimitive<T: Encodable>(_ value: T, key: String) -> Bool {
        if T.self == String.self {
            self.writeTag(key, .lengthDelimited)
            self.writeString(unsafeBitCast(value, to: String.self))
        } else if T.self == Int.self {
            self.writeTag(key, .varint)
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int.self)))
        } else if T.self == Bool.self {
            self.writeTag(key, .byte)
            self.writeByte(unsafeBitCast(value, to: Bool.self) ? 1 : 0)
        } else if T.self == Double.self {
            self.writeTag(key, .fixed64)
            self.writeDouble(unsafeBitCast(value, to: Double.self))
        } else if T.self == [UInt8].self {
            self.writeTag(key, .lengthDelimited)
            self.writeBytes(unsafeBitCast(value, to: [UInt8].self))
        } else if T.self == UInt64.self {
            self.writeTag(key, .varint)
            self.writeVarint(unsafeBitCast(value, to: UInt64.self))
        } else if T.self == Int64.self {
            self.writeTag(key, .varint)
            self.writeZigZag(unsafeBitCast(value, to: Int64.self))
        } else if T.self == UInt8.self {
            self.writeTag(key, .byte)
            self.writeByte(unsafeBitCast(value, to: UInt8.self))
        } else if T.self == Data.self {
            self.writeTag(key, .lengthDelimited)
            self.writeData(unsafeBitCast(value, to: Data.self))
        } else if T.self == Int32.self {
            self.writeTag(key, .varint)
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int32.self)))
        } else if T.self == UInt32.self {
            self.writeTag(key, .varint)
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt32.self)))
        } else if T.self == Float.self {
            self.writeTag(key, .fixed32)
            self.writeFloat(unsafeBitCast(value, to: Float.self))
        } else if T.self == UInt.self {
            self.writeTag(key, .varint)
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt.self)))
        } else if T.self == Int8.self {
            self.writeTag(key, .byte)
            self.writeByte(UInt8(bitPattern: unsafeBitCast(value, to: Int8.self)))
        } else if T.self == Int16.self {
            self.writeTag(key, .varint)
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int16.self)))
        } else if T.self == UInt16.self {
            self.writeTag(key, .varint)
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt16.self)))
        } else if T.self == ContiguousArray<UInt8>.self {
            self.writeTag(key, .lengthDelimited)
            self.writeBytes(unsafeBitCast(value, to: ContiguousArray<UInt8>.self))
        } else if T.self == Int128.self {
            self.writeTag(key, .lengthDelimited)
            self.writeByte(16)
            self.writeInt128(unsafeBitCast(value, to: Int128.self))
        } else if T.self == UInt128.self {
            self.writeTag(key, .lengthDelimited)
            self.writeByte(16)
            self.writeUInt128(unsafeBitCast(value, to: UInt128.self))
        } else {
            return false
        }
        return true
    }
}
