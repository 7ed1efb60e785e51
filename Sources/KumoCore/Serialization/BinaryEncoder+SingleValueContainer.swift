/// Writes one bare value at the current position.
struct BinarySingleValueEncodingContainer: SingleValueEncodingContainer {
    let state: BinaryEncoderState
    let base: Int
    let frameID: Int

    /// Always empty: the binary coder does not track coding paths while encoding.
    var codingPath: [any CodingKey] { [] }

    @inline(__always)
    private func begin() throws {
        try self.state.prepareValue(base: self.base, frameID: self.frameID)
    }

    /// Writes the `Optional` tag byte for `nil` (0).
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
        try self.state.encodeValue(value, base: self.base, frameID: self.frameID)
    }
}
