/// Writes an unkeyed container: a `UInt32` length (back-patched) followed by the elements in
/// their standalone encodings, without tags.
///
/// Kept within three words (ids as `Int32`) so that the `any UnkeyedEncodingContainer` holding it
/// stores it inline instead of boxing it on the heap.
struct BinaryUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let state: BinaryEncoderState
    private let storedID: Int32
    /// Index of this container's frame in `state.frames`.
    private let storedDepth: Int32
    private(set) var count = 0

    var id: Int { Int(self.storedID) }
    var depth: Int { Int(self.storedDepth) }

    init(state: BinaryEncoderState, id: Int, depth: Int) {
        self.state = state
        // Ids count the containers of one encode call and depths its nesting; both stay far
        // below `Int32.max` (a container costs at least 4 bytes of a buffer capped at 4 GiB).
        self.storedID = Int32(truncatingIfNeeded: id)
        self.storedDepth = Int32(truncatingIfNeeded: depth)
    }

    /// Always empty: the binary coder does not track coding paths while encoding.
    var codingPath: [any CodingKey] { [] }

    @inline(__always)
    private mutating func begin() throws {
        try self.state.prepare(self.id, self.depth)
        self.count += 1
    }

    mutating func encodeNil() throws {
        try self.begin()
        self.state.writeByte(0)
    }

    mutating func encode(_ value: Bool) throws {
        try self.begin()
        self.state.writeByte(value ? 1 : 0)
    }

    mutating func encode(_ value: String) throws {
        try self.begin()
        self.state.writeString(value)
    }

    mutating func encode(_ value: Double) throws {
        try self.begin()
        self.state.writeDouble(value)
    }

    mutating func encode(_ value: Float) throws {
        try self.begin()
        self.state.writeFloat(value)
    }

    mutating func encode(_ value: Int) throws {
        try self.begin()
        self.state.writeZigZag(Int64(value))
    }

    mutating func encode(_ value: Int8) throws {
        try self.begin()
        self.state.writeByte(UInt8(bitPattern: value))
    }

    mutating func encode(_ value: Int16) throws {
        try self.begin()
        self.state.writeZigZag(Int64(value))
    }

    mutating func encode(_ value: Int32) throws {
        try self.begin()
        self.state.writeZigZag(Int64(value))
    }

    mutating func encode(_ value: Int64) throws {
        try self.begin()
        self.state.writeZigZag(value)
    }

    mutating func encode(_ value: Int128) throws {
        try self.begin()
        self.state.writeInt128(value)
    }

    mutating func encode(_ value: UInt) throws {
        try self.begin()
        self.state.writeVarint(UInt64(value))
    }

    mutating func encode(_ value: UInt8) throws {
        try self.begin()
        self.state.writeByte(value)
    }

    mutating func encode(_ value: UInt16) throws {
        try self.begin()
        self.state.writeVarint(UInt64(value))
    }

    mutating func encode(_ value: UInt32) throws {
        try self.begin()
        self.state.writeVarint(UInt64(value))
    }

    mutating func encode(_ value: UInt64) throws {
        try self.begin()
        self.state.writeVarint(value)
    }

    mutating func encode(_ value: UInt128) throws {
        try self.begin()
        self.state.writeUInt128(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try self.begin()
        try self.state.encodeValue(value, base: self.depth + 1, frameID: self.id)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        guard (try? self.begin()) != nil else {
            return KeyedEncodingContainer(
                BinaryKeyedEncodingContainer<NestedKey>(state: self.state, id: BinaryEncoderState.invalidID, depth: -1)
            )
        }
        let id = self.state.pushFrame(.keyed)
        return KeyedEncodingContainer(BinaryKeyedEncodingContainer<NestedKey>(state: self.state, id: id, depth: self.depth + 1))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        guard (try? self.begin()) != nil else {
            return BinaryUnkeyedEncodingContainer(state: self.state, id: BinaryEncoderState.invalidID, depth: -1)
        }
        let id = self.state.pushFrame(.unkeyed)
        return BinaryUnkeyedEncodingContainer(state: self.state, id: id, depth: self.depth + 1)
    }

    mutating func superEncoder() -> any Encoder {
        guard (try? self.begin()) != nil else { return BinaryEncoderImpl.invalid(self.state) }
        let frameID = self.state.pushFrame(.delimited)
        return BinaryEncoderImpl(state: self.state, base: self.depth + 2, frameID: frameID)
    }
}
