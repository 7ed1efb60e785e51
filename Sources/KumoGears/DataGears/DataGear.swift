import Kumo
import NIOCore
import Synchronization

/// One Data Gear as a DGM stores and moves it: the value's encoding and the name of its type.
///
/// A DGM never decodes what it stores: `flip` hands a gear on as it is, and a reader decodes it
/// once, checking the type it expects against the type the writer stored.
public struct DataGear: Codable, Sendable, Equatable {
    /// The fully qualified name of the value's type.
    public var type: String
    /// The value in Kumo's binary format.
    public var bytes: [UInt8]

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
        do {
            return try BinaryDecoder().decode(expected, from: ByteBuffer(bytes: bytes))
        } catch {
            throw GearError(.malformed, key: key, "the \(type) under \(key) does not decode: \(error)")
        }
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
