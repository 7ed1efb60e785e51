import Kumo
import NIOCore

/// A CRDT type as the replicator handles it without knowing it statically: its stable name (the
/// fully qualified type name, the same in every process of one program), and how to decode, merge
/// and encode its values.
struct CRDTType: Sendable {
    let name: String
    let empty: @Sendable () -> any CRDT
    let decode: @Sendable ([UInt8], BinaryDecoder) throws -> any CRDT
    /// Joins `b` into `a` in place (no copy of `a`'s storage); `false` when either is not of the
    /// type (`a` is then unchanged).
    let mergeInPlace: @Sendable (inout any CRDT, any CRDT) -> Bool

    init<Value: CRDT>(_ type: Value.Type) {
        name = Self.name(of: type)
        empty = { Value() }
        decode = { bytes, decoder in try decoder.decode(Value.self, from: ByteBuffer(bytes: bytes)) }
        mergeInPlace = { a, b in
            guard var joined = a as? Value, let b = b as? Value else { return false }
            a = Flag()   // drops the existential's reference, so the merge does not copy
            joined.merge(b)
            a = joined
            return true
        }
    }

    static func name<Value: CRDT>(of type: Value.Type) -> String { String(reflecting: type) }
}

/// Encodes any CRDT value in the binary format.
func encodeCRDT(_ value: any CRDT) throws -> [UInt8] {
    let buffer = try BinaryEncoder().encode(value)
    return Array(buffer.readableBytesView)
}
