#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the coder handles a type reached through a generic entry point.
///
/// Computed with metatype comparisons only (no dynamic casts). Identities of generic types are
/// computed once: spelling `[UInt8].self` in unspecialized generic code would look the metadata up
/// in the runtime's cache on every call.
enum CoderPrimitiveKind {
    // Scalars and byte blocks, written directly.
    case string, int, bool, double, byteArray, uint64, int64, uint8, data, int32, uint32, float
    case uint, int8, int16, uint16, contiguousByteArray, int128, uint128
    // Arrays of common scalars: the same bytes as `Array`'s own unkeyed encoding, produced by a
    // direct loop instead of one generic container call per element.
    case stringArray, intArray, doubleArray, boolArray, int64Array, uint64Array, floatArray, int32Array, uint32Array
    /// `Optional<Wrapped>`: see `CoderOptionalEncodable`.
    case optional
    /// Anything else: the type's own `Codable` implementation.
    case composite

    /// Whether a keyed entry holds the value directly (with its own wire type) rather than in a
    /// wire-type-4 container.
    var isScalar: Bool {
        switch self {
        case .stringArray, .intArray, .doubleArray, .boolArray, .int64Array, .uint64Array, .floatArray,
             .int32Array, .uint32Array, .optional, .composite:
            false
        default:
            true
        }
    }

    private struct Identities {
        let byteArray = ObjectIdentifier([UInt8].self)
        let contiguousByteArray = ObjectIdentifier(ContiguousArray<UInt8>.self)
        let stringArray = ObjectIdentifier([String].self)
        let intArray = ObjectIdentifier([Int].self)
        let doubleArray = ObjectIdentifier([Double].self)
        let boolArray = ObjectIdentifier([Bool].self)
        let int64Array = ObjectIdentifier([Int64].self)
        let uint64Array = ObjectIdentifier([UInt64].self)
        let floatArray = ObjectIdentifier([Float].self)
        let int32Array = ObjectIdentifier([Int32].self)
        let uint32Array = ObjectIdentifier([UInt32].self)
    }

    private static let identities = Identities()

    /// The handling of `type`; the most common types are tested first.
    static func of<T>(_ type: T.Type) -> CoderPrimitiveKind {
        if T.self == String.self { return .string }
        if T.self == Int.self { return .int }
        if T.self == Bool.self { return .bool }
        if T.self == Double.self { return .double }
        if T.self == UInt64.self { return .uint64 }
        if T.self == Int64.self { return .int64 }
        if T.self == UInt8.self { return .uint8 }
        if T.self == Data.self { return .data }
        if T.self == Int32.self { return .int32 }
        if T.self == UInt32.self { return .uint32 }
        if T.self == Float.self { return .float }
        if T.self == UInt.self { return .uint }
        if T.self == Int8.self { return .int8 }
        if T.self == Int16.self { return .int16 }
        if T.self == UInt16.self { return .uint16 }
        if T.self == Int128.self { return .int128 }
        if T.self == UInt128.self { return .uint128 }
        if _isOptional(T.self) { return .optional }
        let id = ObjectIdentifier(T.self)
        let known = Self.identities
        if id == known.byteArray { return .byteArray }
        if id == known.stringArray { return .stringArray }
        if id == known.intArray { return .intArray }
        if id == known.doubleArray { return .doubleArray }
        if id == known.int64Array { return .int64Array }
        if id == known.uint64Array { return .uint64Array }
        if id == known.boolArray { return .boolArray }
        if id == known.floatArray { return .floatArray }
        if id == known.int32Array { return .int32Array }
        if id == known.uint32Array { return .uint32Array }
        if id == known.contiguousByteArray { return .contiguousByteArray }
        return .composite
    }
}
