import CompressNIO
import Kumo
import NIOCore
import Synchronization

/// One Data Gear as a DGM stores and moves it: the value's encoding, compressed or not, and the
/// name of its type.
///
/// A DGM never decodes what it stores: `flip` hands a gear on as it is, and a reader decodes it
/// once, checking the type it expects against the type the writer stored. A gear that went through
/// a compressed DGM carries its compressed form, and keeps both forms once it has both, so a relay
/// forwards it to the next compressed DGM without compressing it again.
public struct DataGear: Codable, Sendable, Equatable {
    /// The fully qualified name of the value's type.
    public var type: String
    /// The value in Kumo's binary format, when this copy has it.
    public private(set) var bytes: [UInt8]?
    /// The same, zlib-compressed, when this copy has it.
    public private(set) var compressed: [UInt8]?

    /// The most a compressed gear may expand to (a guard against a gear that would fill memory).
    public static let maximumSize = 256 << 20

    /// The gear holding `value`.
    public init<Value: Codable & Sendable>(_ value: Value) throws(GearError) {
        type = Self.typeName(Value.self)
        do {
            bytes = Array(try BinaryEncoder().encode(value).readableBytesView)
        } catch {
            throw GearError(.malformed, "a \(type) does not encode: \(error)")
        }
    }

    /// The value, if it is a `Value`.
    /// - Throws: ``GearError`` `typeMismatch` naming the key and both types, or `malformed`.
    public func value<Value: Codable & Sendable>(as expected: Value.Type, key: String) throws(GearError) -> Value {
        let name = Self.typeName(expected)
        guard name == type else {
            throw GearError(.typeMismatch, key: key, "key \(key) holds a \(type), not a \(name)")
        }
        let plain = try decompressed(key: key)
        do {
            return try BinaryDecoder().decode(expected, from: ByteBuffer(bytes: plain.bytes ?? []))
        } catch {
            throw GearError(.malformed, key: key, "the \(type) under \(key) does not decode: \(error)")
        }
    }

    /// This gear with its compressed form (compressed now if it has none yet).
    public func compressing() throws(GearError) -> DataGear {
        guard compressed == nil, let bytes else { return self }
        var copy = self
        do {
            var buffer = ByteBuffer(bytes: bytes)
            copy.compressed = Array(try buffer.compress(with: .zlib()).readableBytesView)
        } catch {
            throw GearError(.malformed, "a \(type) does not compress: \(error)")
        }
        return copy
    }

    /// This gear with its plain form (decompressed now if it has none yet).
    public func decompressed(key: String? = nil) throws(GearError) -> DataGear {
        guard bytes == nil else { return self }
        guard let compressed else { throw GearError(.malformed, key: key, "a \(type) gear holds no bytes") }
        var copy = self
        do {
            var buffer = ByteBuffer(bytes: compressed)
            copy.bytes = Array(try buffer.decompress(with: .zlib(), maxSize: Self.maximumSize).readableBytesView)
        } catch {
            throw GearError(.malformed, key: key, "a compressed \(type) does not decompress: \(error)")
        }
        return copy
    }

    /// The form to send: the compressed one alone for a compressed DGM, else the plain one alone.
    func forSending(compressed wantsCompressed: Bool) throws(GearError) -> DataGear {
        var gear = wantsCompressed ? try compressing() : try decompressed()
        if wantsCompressed { gear.bytes = nil } else { gear.compressed = nil }
        return gear
    }

    /// The name a type is stored under: its fully qualified name (worked out once per type, since
    /// spelling a type's name out is costly).
    public static func typeName<Value>(_ type: Value.Type) -> String {
        let id = ObjectIdentifier(type)
        if let name = typeNames.withLock({ $0[id] }) { return name }
        let name = String(reflecting: type)
        typeNames.withLock { $0[id] = name }
        return name
    }

    private static let typeNames = Mutex<[ObjectIdentifier: String]>([:])
}
