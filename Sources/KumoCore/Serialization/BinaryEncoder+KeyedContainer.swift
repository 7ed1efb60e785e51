/// Writes a keyed container: a `UInt32` length (back-patched) followed by tagged entries.
struct BinaryKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: BinaryEncoderState
    let id: Int
    /// Index of this container's frame in `state.frames`.
    let depth: Int

    /// Always empty: the binary coder does not track coding paths while encoding.
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .null)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .byte)
        self.state.writeByte(value ? 1 : 0)
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .lengthDelimited)
        self.state.writeString(value)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .fixed64)
        self.state.writeDouble(value)
    }

    mutating func encode(_ value: Float, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .fixed32)
        self.state.writeFloat(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        try self.encodeSigned(Int64(value), key)
    }

    mutating func encode(_ value: Int8, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .byte)
        self.state.writeByte(UInt8(bitPattern: value))
    }

    mutating func encode(_ value: Int16, forKey key: Key) throws {
        try self.encodeSigned(Int64(value), key)
    }

    mutating func encode(_ value: Int32, forKey key: Key) throws {
        try self.encodeSigned(Int64(value), key)
    }

    mutating func encode(_ value: Int64, forKey key: Key) throws {
        try self.encodeSigned(value, key)
    }

    mutating func encode(_ value: Int128, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .lengthDelimited)
        self.state.writeByte(16)
        self.state.writeInt128(value)
    }

    mutating func encode(_ value: UInt, forKey key: Key) throws {
        try self.encodeUnsigned(UInt64(value), key)
    }

    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .byte)
        self.state.writeByte(value)
    }

    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        try self.encodeUnsigned(UInt64(value), key)
    }

    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        try self.encodeUnsigned(UInt64(value), key)
    }

    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        try self.encodeUnsigned(value, key)
    }

    mutating func encode(_ value: UInt128, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .lengthDelimited)
        self.state.writeByte(16)
        self.state.writeUInt128(value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        try self.state.encodeEntry(value, key: key.stringValue, depth: self.depth)
    }

    @inline(__always)
    private mutating func encodeSigned(_ value: Int64, _ key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .varint)
        self.state.writeZigZag(value)
    }

    @inline(__always)
    private mutating func encodeUnsigned(_ value: UInt64, _ key: Key) throws {
        try self.state.prepare(self.id, self.depth)
        self.state.writeTag(key.stringValue, .varint)
        self.state.writeVarint(value)
    }

    // MARK: Absent values write nothing

    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: Int128?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent(_ value: UInt128?, forKey key: Key) throws {
        if let value { try self.encode(value, forKey: key) }
    }

    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return }
        try self.state.prepare(self.id, self.depth)
        if _isOptional(T.self) {
            // A present value that is itself optional (a `T??` field holding `.some(nil)`)
            // keeps its tag byte so the two levels of optionality survive.
            try self.state.encodeDelimitedEntry(value, key: key.stringValue, depth: self.depth)
        } else {
            try self.state.encodeEntry(value, key: key.stringValue, depth: self.depth)
        }
    }

    // MARK: Nesting

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        guard (try? self.state.prepare(self.id, self.depth)) != nil else {
            return KeyedEncodingContainer(
                BinaryKeyedEncodingContainer<NestedKey>(state: self.state, id: BinaryEncoderState.invalidID, depth: -1)
            )
        }
        self.state.writeTag(key.stringValue, .container)
        _ = self.state.pushFrame(.delimited)
        let id = self.state.pushFrame(.keyed)
        return KeyedEncodingContainer(
            BinaryKeyedEncodingContainer<NestedKey>(state: self.state, id: id, depth: self.depth + 2)
        )
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        guard (try? self.state.prepare(self.id, self.depth)) != nil else {
            return BinaryUnkeyedEncodingContainer(state: self.state, id: BinaryEncoderState.invalidID, depth: -1)
        }
        self.state.writeTag(key.stringValue, .container)
        _ = self.state.pushFrame(.delimited)
        let id = self.state.pushFrame(.unkeyed)
        return BinaryUnkeyedEncodingContainer(state: self.state, id: id, depth: self.depth + 2)
    }

    mutating func superEncoder() -> any Encoder {
        self.superEncoder(keyString: CoderSuperKey().stringValue)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        self.superEncoder(keyString: key.stringValue)
    }

    private mutating func superEncoder(keyString: String) -> any Encoder {
        guard (try? self.state.prepare(self.id, self.depth)) != nil else {
            return BinaryEncoderImpl.invalid(self.state)
        }
        self.state.writeTag(keyString, .container)
        let frameID = self.state.pushFrame(.delimited)
        return BinaryEncoderImpl(state: self.state, base: self.depth + 2, frameID: frameID)
    }
}
