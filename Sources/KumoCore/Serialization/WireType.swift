/// The low three bits of a keyed-container entry tag: how the entry's payload is laid out, so a
/// decoder can skip an entry it does not understand.
enum CoderWireType: UInt8 {
    /// LEB128 varint (zigzag for signed integers).
    case varint = 0
    /// 8 bytes, little-endian (`Double`).
    case fixed64 = 1
    /// Varint byte length, then that many bytes (`String`, byte arrays, 128-bit integers).
    case lengthDelimited = 2
    /// No payload: the field is present and nil.
    case null = 3
    /// `UInt32` little-endian byte length, then that many bytes (nested containers, any other value).
    case container = 4
    /// 4 bytes, little-endian (`Float`).
    case fixed32 = 5
    /// One byte (`Bool`, `Int8`, `UInt8`).
    case byte = 6

    /// A human-readable name for error messages.
    var name: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "fixed64"
        case .lengthDelimited: "length-delimited"
        case .null: "nil"
        case .container: "container"
        case .fixed32: "fixed32"
        case .byte: "byte"
        }
    }

    /// The name of a raw wire-type value, including invalid ones.
    static func name(of raw: UInt8) -> String {
        CoderWireType(rawValue: raw)?.name ?? "invalid(\(raw))"
    }
}
