#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Routing of generic values that are really primitives to their direct encodings.
///
/// The value is reinterpreted with `unsafeBitCast` only after ``CoderPrimitiveKind/of(_:)`` proved
/// its type identical to the target type.
extension BinaryEncoderState {
    /// Writes `value` bare if it is a primitive (or a byte array / `Data`); returns whether it was.
    func encodePrimitive<T: Encodable>(_ value: T, _ kind: CoderPrimitiveKind) -> Bool {
        switch kind {
        case .string:
            self.writeString(unsafeBitCast(value, to: String.self))
        case .int:
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int.self)))
        case .bool:
            self.writeByte(unsafeBitCast(value, to: Bool.self) ? 1 : 0)
        case .double:
            self.writeDouble(unsafeBitCast(value, to: Double.self))
        case .byteArray:
            self.writeBytes(unsafeBitCast(value, to: [UInt8].self))
        case .uint64:
            self.writeVarint(unsafeBitCast(value, to: UInt64.self))
        case .int64:
            self.writeZigZag(unsafeBitCast(value, to: Int64.self))
        case .uint8:
            self.writeByte(unsafeBitCast(value, to: UInt8.self))
        case .data:
            self.writeData(unsafeBitCast(value, to: Data.self))
        case .int32:
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int32.self)))
        case .uint32:
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt32.self)))
        case .float:
            self.writeFloat(unsafeBitCast(value, to: Float.self))
        case .uint:
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt.self)))
        case .int8:
            self.writeByte(UInt8(bitPattern: unsafeBitCast(value, to: Int8.self)))
        case .int16:
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int16.self)))
        case .uint16:
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt16.self)))
        case .contiguousByteArray:
            self.writeBytes(unsafeBitCast(value, to: ContiguousArray<UInt8>.self))
        case .int128:
            self.writeInt128(unsafeBitCast(value, to: Int128.self))
        case .uint128:
            self.writeUInt128(unsafeBitCast(value, to: UInt128.self))
        case .stringArray:
            self.writeArray(unsafeBitCast(value, to: [String].self)) { $0.writeString($1) }
        case .intArray:
            self.writeArray(unsafeBitCast(value, to: [Int].self)) { $0.writeZigZag(Int64($1)) }
        case .doubleArray:
            self.writeArray(unsafeBitCast(value, to: [Double].self)) { $0.writeDouble($1) }
        case .boolArray:
            self.writeArray(unsafeBitCast(value, to: [Bool].self)) { $0.writeByte($1 ? 1 : 0) }
        case .int64Array:
            self.writeArray(unsafeBitCast(value, to: [Int64].self)) { $0.writeZigZag($1) }
        case .uint64Array:
            self.writeArray(unsafeBitCast(value, to: [UInt64].self)) { $0.writeVarint($1) }
        case .floatArray:
            self.writeArray(unsafeBitCast(value, to: [Float].self)) { $0.writeFloat($1) }
        case .int32Array:
            self.writeArray(unsafeBitCast(value, to: [Int32].self)) { $0.writeZigZag(Int64($1)) }
        case .uint32Array:
            self.writeArray(unsafeBitCast(value, to: [UInt32].self)) { $0.writeVarint(UInt64($1)) }
        case .optional, .composite:
            return false
        }
        return true
    }

    /// Writes an unkeyed container of `elements`: `UInt32` length, then each element bare.
    @inline(__always)
    private func writeArray<Element>(_ elements: [Element], _ write: (BinaryEncoderState, Element) -> Void) {
        let start = self.writeIndex
        self.reserve(4).storeBytes(of: UInt32(0), as: UInt32.self)
        self.writeIndex += 4
        for element in elements { write(self, element) }
        let length = self.writeIndex - start - 4
        if length <= Int(UInt32.max) {
            self.patchUInt32(UInt32(truncatingIfNeeded: length), at: start)
        } else if self.overflowLength == 0 {
            self.overflowLength = length
        }
    }

    /// Writes `value` as a keyed entry (tag, then payload) if it is a primitive; returns whether
    /// it was.
    func encodeKeyedPrimitive<T: Encodable>(_ value: T, _ kind: CoderPrimitiveKind, key: String) -> Bool {
        switch kind {
        case .string:
            self.writeTag(key, .lengthDelimited)
            self.writeString(unsafeBitCast(value, to: String.self))
        case .int:
            self.writeTag(key, .varint)
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int.self)))
        case .bool:
            self.writeTag(key, .byte)
            self.writeByte(unsafeBitCast(value, to: Bool.self) ? 1 : 0)
        case .double:
            self.writeTag(key, .fixed64)
            self.writeDouble(unsafeBitCast(value, to: Double.self))
        case .byteArray:
            self.writeTag(key, .lengthDelimited)
            self.writeBytes(unsafeBitCast(value, to: [UInt8].self))
        case .uint64:
            self.writeTag(key, .varint)
            self.writeVarint(unsafeBitCast(value, to: UInt64.self))
        case .int64:
            self.writeTag(key, .varint)
            self.writeZigZag(unsafeBitCast(value, to: Int64.self))
        case .uint8:
            self.writeTag(key, .byte)
            self.writeByte(unsafeBitCast(value, to: UInt8.self))
        case .data:
            self.writeTag(key, .lengthDelimited)
            self.writeData(unsafeBitCast(value, to: Data.self))
        case .int32:
            self.writeTag(key, .varint)
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int32.self)))
        case .uint32:
            self.writeTag(key, .varint)
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt32.self)))
        case .float:
            self.writeTag(key, .fixed32)
            self.writeFloat(unsafeBitCast(value, to: Float.self))
        case .uint:
            self.writeTag(key, .varint)
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt.self)))
        case .int8:
            self.writeTag(key, .byte)
            self.writeByte(UInt8(bitPattern: unsafeBitCast(value, to: Int8.self)))
        case .int16:
            self.writeTag(key, .varint)
            self.writeZigZag(Int64(unsafeBitCast(value, to: Int16.self)))
        case .uint16:
            self.writeTag(key, .varint)
            self.writeVarint(UInt64(unsafeBitCast(value, to: UInt16.self)))
        case .contiguousByteArray:
            self.writeTag(key, .lengthDelimited)
            self.writeBytes(unsafeBitCast(value, to: ContiguousArray<UInt8>.self))
        case .int128:
            self.writeTag(key, .lengthDelimited)
            self.writeByte(16)
            self.writeInt128(unsafeBitCast(value, to: Int128.self))
        case .uint128:
            self.writeTag(key, .lengthDelimited)
            self.writeByte(16)
            self.writeUInt128(unsafeBitCast(value, to: UInt128.self))
        case .stringArray, .intArray, .doubleArray, .boolArray, .int64Array, .uint64Array, .floatArray,
             .int32Array, .uint32Array, .optional, .composite:
            return false
        }
        return true
    }
}
