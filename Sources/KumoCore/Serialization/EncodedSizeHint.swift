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
/// result returned, and the encoder sizes its first buffer with it. The type is looked up once in
/// a table keyed by type identity, so values of other types cost one hash lookup, and no generic
/// metadata is instantiated per call.
package enum EncodedSizeHint {
    private static let sizes: [ObjectIdentifier: @Sendable (Any) -> Int] = [
        ObjectIdentifier([UInt8].self): { ($0 as? [UInt8])?.count ?? 0 },
        ObjectIdentifier([Int8].self): { ($0 as? [Int8])?.count ?? 0 },
        ObjectIdentifier([Bool].self): { ($0 as? [Bool])?.count ?? 0 },
        ObjectIdentifier([Int16].self): { 2 * (($0 as? [Int16])?.count ?? 0) },
        ObjectIdentifier([UInt16].self): { 2 * (($0 as? [UInt16])?.count ?? 0) },
        ObjectIdentifier([Int32].self): { 4 * (($0 as? [Int32])?.count ?? 0) },
        ObjectIdentifier([UInt32].self): { 4 * (($0 as? [UInt32])?.count ?? 0) },
        ObjectIdentifier([Float].self): { 4 * (($0 as? [Float])?.count ?? 0) },
        ObjectIdentifier([Int64].self): { 8 * (($0 as? [Int64])?.count ?? 0) },
        ObjectIdentifier([UInt64].self): { 8 * (($0 as? [UInt64])?.count ?? 0) },
        ObjectIdentifier([Int].self): { 8 * (($0 as? [Int])?.count ?? 0) },
        ObjectIdentifier([UInt].self): { 8 * (($0 as? [UInt])?.count ?? 0) },
        ObjectIdentifier([Double].self): { 8 * (($0 as? [Double])?.count ?? 0) },
        ObjectIdentifier(ContiguousArray<UInt8>.self): { ($0 as? ContiguousArray<UInt8>)?.count ?? 0 },
        ObjectIdentifier(Data.self): { ($0 as? Data)?.count ?? 0 },
        ObjectIdentifier(String.self): { ($0 as? String)?.utf8.count ?? 0 },
    ]

    /// The encoded size of `value` (payload bytes, leaving out a few bytes of header), or `nil`
    /// when it is not known without encoding.
    package static func of<Value>(_ value: Value) -> Int? {
        sizes[ObjectIdentifier(Value.self)].map { $0(value) }
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
