/// Lets the coder recognise `Optional` at generic entry points (after a cheap `_isOptional`
/// check) and reach its `Wrapped` type, instead of going through `Optional`'s own
/// single-value-container `Codable` implementation.
///
/// Standalone form (top level, unkeyed elements, single-value containers): a tag byte, 0 for
/// `nil`, 1 followed by the wrapped value. Keyed form: `nil` is a wire-type-3 entry; a present
/// value is the wrapped value's own entry, or, when the wrapped type is itself optional, a
/// wire-type-4 entry holding the wrapped value's standalone (tagged) form.
protocol CoderOptionalEncodable {
    static func encodeTagged<V>(_ value: V, state: BinaryEncoderState, base: Int, frameID: Int) throws
    static func encodeEntry<V>(_ value: V, state: BinaryEncoderState, key: String, depth: Int) throws
}

/// Decoding counterpart of ``CoderOptionalEncodable``.
protocol CoderOptionalDecodable {
    static func decodeTagged<R>(_ type: R.Type, state: BinaryDecoderState, at position: inout Int, limit: Int) throws -> R
    static func decodeEntry<R>(_ type: R.Type, state: BinaryDecoderState, entry: CoderEntry) throws -> R
}

extension Optional: CoderOptionalEncodable where Wrapped: Encodable {
    static func encodeTagged<V>(_ value: V, state: BinaryEncoderState, base: Int, frameID: Int) throws {
        guard V.self == Self.self else { throw CoderEncodingErrors.invalid("internal: optional type mismatch") }
        switch unsafeBitCast(value, to: Self.self) {
        case .none:
            state.writeByte(0)
        case .some(let wrapped):
            state.writeByte(1)
            try state.encodeValue(wrapped, base: base, frameID: frameID)
        }
    }

    static func encodeEntry<V>(_ value: V, state: BinaryEncoderState, key: String, depth: Int) throws {
        guard V.self == Self.self else { throw CoderEncodingErrors.invalid("internal: optional type mismatch") }
        switch unsafeBitCast(value, to: Self.self) {
        case .none:
            state.writeTag(key, .null)
        case .some(let wrapped):
            if _isOptional(Wrapped.self) {
                try state.encodeDelimitedEntry(wrapped, key: key, depth: depth)
            } else {
                try state.encodeEntry(wrapped, key: key, depth: depth)
            }
        }
    }
}

extension Optional: CoderOptionalDecodable where Wrapped: Decodable {
    static func decodeTagged<R>(_ type: R.Type, state: BinaryDecoderState, at position: inout Int, limit: Int) throws -> R {
        guard R.self == Self.self else { throw CoderFault.notPrimitive }
        var cursor = position
        let tag = try state.readByte(&cursor, limit)
        switch tag {
        case 0:
            position = cursor
            return unsafeBitCast(Self.none, to: R.self)
        case 1:
            let wrapped = try state.decodeValue(Wrapped.self, at: &cursor, limit: limit)
            position = cursor
            return unsafeBitCast(Self.some(wrapped), to: R.self)
        default:
            throw CoderFault.invalidOptionalTag(tag)
        }
    }

    static func decodeEntry<R>(_ type: R.Type, state: BinaryDecoderState, entry: CoderEntry) throws -> R {
        guard R.self == Self.self else { throw CoderFault.notPrimitive }
        if entry.wireType == CoderWireType.null.rawValue {
            return unsafeBitCast(Self.none, to: R.self)
        }
        let wrapped: Wrapped
        if _isOptional(Wrapped.self) {
            wrapped = try state.decodeDelimited(Wrapped.self, entry)
        } else {
            wrapped = try state.decodeEntry(Wrapped.self, entry)
        }
        return unsafeBitCast(Self.some(wrapped), to: R.self)
    }
}
