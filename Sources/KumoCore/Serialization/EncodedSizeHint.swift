#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How many bytes a value will encode to, told cheaply for the kinds of value that are commonly
/// large: arrays of bytes, booleans and fixed-width numbers, `Data`, and strings. Values that wrap
/// them (a struct holding a byte array, an optional, nested arrays) are not recognised; each value
/// is judged on its own.
///
/// Kumo encodes a value this large on its bulk threads rather than where the call is made or the
/// result returned, and the encoder sizes its first buffer with it.
package enum EncodedSizeHint {
    private static let int8Array = ObjectIdentifier([Int8].self)
    private static let int16Array = ObjectIdentifier([Int16].self)
    private static let uint16Array = ObjectIdentifier([UInt16].self)
    private static let uintArray = ObjectIdentifier([UInt].self)

    /// The encoded size of `value` (payload bytes, leaving out a few bytes of header), or `nil`
    /// when it is not known without encoding. Types are told apart by metatype comparisons only:
    /// no dynamic cast and no table lookup, as this runs for every argument and result.
    package static func of<Value>(_ value: Value) -> Int? {
        switch CoderPrimitiveKind.of(Value.self) {
        case .byteArray: return unsafeBitCast(value, to: [UInt8].self).count
        case .string: return unsafeBitCast(value, to: String.self).utf8.count
        case .data: return unsafeBitCast(value, to: Data.self).count
        case .contiguousByteArray: return unsafeBitCast(value, to: ContiguousArray<UInt8>.self).count
        case .boolArray: return unsafeBitCast(value, to: [Bool].self).count
        case .int32Array: return 4 * unsafeBitCast(value, to: [Int32].self).count
        case .uint32Array: return 4 * unsafeBitCast(value, to: [UInt32].self).count
        case .floatArray: return 4 * unsafeBitCast(value, to: [Float].self).count
        case .int64Array: return 8 * unsafeBitCast(value, to: [Int64].self).count
        case .uint64Array: return 8 * unsafeBitCast(value, to: [UInt64].self).count
        case .intArray: return 8 * unsafeBitCast(value, to: [Int].self).count
        case .doubleArray: return 8 * unsafeBitCast(value, to: [Double].self).count
        case .composite:
            let id = ObjectIdentifier(Value.self)
            if id == int8Array { return unsafeBitCast(value, to: [Int8].self).count }
            if id == int16Array { return 2 * unsafeBitCast(value, to: [Int16].self).count }
            if id == uint16Array { return 2 * unsafeBitCast(value, to: [UInt16].self).count }
            if id == uintArray { return 8 * unsafeBitCast(value, to: [UInt].self).count }
            return nil
        default:
            return nil
        }
    }

    private static let byteArray = ObjectIdentifier([UInt8].self)

    /// The encoded size of `value` for an encoder whose ``BinaryEncoder/attachmentThreshold`` is
    /// `threshold`: a byte array longer than that is left out of the encoding, so it counts as
    /// the few bytes of its reference.
    package static func of<Value>(_ value: Value, attachingAbove threshold: Int) -> Int? {
        guard let size = of(value) else { return nil }
        if size > threshold, ObjectIdentifier(Value.self) == byteArray { return CoderVarint.maxLength }
        return size
    }

    /// Whether `value` is known to encode to more than `threshold` bytes.
    package static func exceeds<Value>(_ value: Value, _ threshold: Int) -> Bool {
        (of(value) ?? 0) > threshold
    }
}
