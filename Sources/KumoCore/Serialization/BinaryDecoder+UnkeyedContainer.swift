/// Reads the elements of an unkeyed container in order.
///
/// Kept within three words (offsets in a `ByteBuffer` fit in `UInt32`) so that the
/// `any UnkeyedDecodingContainer` holding it stores it inline instead of boxing it on the heap.
struct BinaryUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let state: BinaryDecoderState
    /// Offset of the next element.
    var position: Int
    private let storedEnd: UInt32
    private var storedIndex: UInt32 = 0

    /// Offset just past the last element.
    var end: Int { Int(self.storedEnd) }

    var currentIndex: Int { Int(self.storedIndex) }

    init(state: BinaryDecoderState, position: Int, end: Int) {
        self.state = state
        self.position = position
        // A ByteBuffer holds at most `UInt32.max` bytes, so offsets into it fit.
        self.storedEnd = UInt32(truncatingIfNeeded: end)
    }

    /// Always empty: coding paths are only built for errors.
    var codingPath: [any CodingKey] { [] }

    /// Unknown: elements are not counted on the wire.
    var count: Int? { nil }

    var isAtEnd: Bool { self.position >= self.end }

    /// Checks that an element remains and the container is still backed by the input.
    @inline(__always)
    private func check() throws(CoderFault) {
        guard self.position < self.end else { throw .unkeyedAtEnd }
        guard self.end <= self.state.bytes.count else { throw .containerExpired }
    }

    @inline(__always)
    private mutating func read<T>(_ type: T.Type, _ body: (inout Int, Int) throws(CoderFault) -> T) throws -> T {
        do throws(CoderFault) {
            try self.check()
            var position = self.position
            let value = try body(&position, self.end)
            self.position = position
            self.storedIndex += 1
            return value
        } catch {
            throw CoderErrors.make(error, type: T.self, key: CoderIndexKey(self.currentIndex))
        }
    }

    /// True (consuming it) if the next byte is the nil tag 0.
    mutating func decodeNil() throws -> Bool {
        do throws(CoderFault) {
            try self.check()
        } catch {
            throw CoderErrors.make(error, type: Any?.self, key: CoderIndexKey(self.currentIndex))
        }
        guard self.state.bytes[self.position] == 0 else { return false }
        self.position += 1
        self.storedIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        try self.read(Bool.self) { [state] (p, l) throws(CoderFault) in try state.readBool(&p, l) }
    }

    mutating func decode(_ type: String.Type) throws -> String {
        try self.read(String.self) { [state] (p, l) throws(CoderFault) in try state.readString(&p, l) }
    }

    mutating func decode(_ type: Double.Type) throws -> Double {
        try self.read(Double.self) { [state] (p, l) throws(CoderFault) in Double(bitPattern: try state.readFixed64(&p, l)) }
    }

    mutating func decode(_ type: Float.Type) throws -> Float {
        try self.read(Float.self) { [state] (p, l) throws(CoderFault) in Float(bitPattern: try state.readFixed32(&p, l)) }
    }

    mutating func decode(_ type: Int.Type) throws -> Int {
        try self.read(Int.self) { [state] (p, l) throws(CoderFault) in try state.narrow(state.readZigZag(&p, l), to: Int.self) }
    }

    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        try self.read(Int8.self) { [state] (p, l) throws(CoderFault) in Int8(bitPattern: try state.readByte(&p, l)) }
    }

    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        try self.read(Int16.self) { [state] (p, l) throws(CoderFault) in try state.narrow(state.readZigZag(&p, l), to: Int16.self) }
    }

    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        try self.read(Int32.self) { [state] (p, l) throws(CoderFault) in try state.narrow(state.readZigZag(&p, l), to: Int32.self) }
    }

    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        try self.read(Int64.self) { [state] (p, l) throws(CoderFault) in try state.readZigZag(&p, l) }
    }

    mutating func decode(_ type: Int128.Type) throws -> Int128 {
        try self.read(Int128.self) { [state] (p, l) throws(CoderFault) in Int128(bitPattern: try state.readUInt128(&p, l)) }
    }

    mutating func decode(_ type: UInt.Type) throws -> UInt {
        try self.read(UInt.self) { [state] (p, l) throws(CoderFault) in try state.narrow(state.readVarint(&p, l), to: UInt.self) }
    }

    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        try self.read(UInt8.self) { [state] (p, l) throws(CoderFault) in try state.readByte(&p, l) }
    }

    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        try self.read(UInt16.self) { [state] (p, l) throws(CoderFault) in try state.narrow(state.readVarint(&p, l), to: UInt16.self) }
    }

    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        try self.read(UInt32.self) { [state] (p, l) throws(CoderFault) in try state.narrow(state.readVarint(&p, l), to: UInt32.self) }
    }

    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        try self.read(UInt64.self) { [state] (p, l) throws(CoderFault) in try state.readVarint(&p, l) }
    }

    mutating func decode(_ type: UInt128.Type) throws -> UInt128 {
        try self.read(UInt128.self) { [state] (p, l) throws(CoderFault) in try state.readUInt128(&p, l) }
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            try self.check()
            var position = self.position
            let value = try self.state.decodeValue(T.self, at: &position, limit: self.end)
            // Every element takes at least one byte, so `while !isAtEnd` loops always progress.
            guard position > self.position else { throw CoderFault.emptyElement }
            self.position = position
            self.storedIndex += 1
            return value
        } catch {
            throw CoderErrors.convert(error, type: T.self, key: CoderIndexKey(self.currentIndex))
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        do throws(CoderFault) {
            try self.check()
            let (index, id) = try self.state.openKeyed(start: self.position, limit: self.end)
            self.position = self.state.frames[index].end
            self.storedIndex += 1
            return KeyedDecodingContainer(BinaryKeyedDecodingContainer<NestedKey>(state: self.state, frame: index, id: id))
        } catch {
            throw CoderErrors.make(error, type: KeyedDecodingContainer<NestedKey>.self, typeName: "keyed container", key: CoderIndexKey(self.currentIndex))
        }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        do throws(CoderFault) {
            try self.check()
            let (start, end) = try self.state.openUnkeyed(start: self.position, limit: self.end)
            self.position = end
            self.storedIndex += 1
            return BinaryUnkeyedDecodingContainer(state: self.state, position: start, end: end)
        } catch {
            throw CoderErrors.make(error, type: (any UnkeyedDecodingContainer).self, typeName: "unkeyed container", key: CoderIndexKey(self.currentIndex))
        }
    }

    mutating func superDecoder() throws -> any Decoder {
        do throws(CoderFault) {
            try self.check()
            var position = self.position
            let length = try self.state.readU32Length(&position, self.end)
            self.position = position + length
            self.storedIndex += 1
            return BinaryDecoderImpl(state: self.state, start: position, limit: position + length)
        } catch {
            throw CoderErrors.make(error, type: (any Decoder).self, typeName: "super decoder", key: CoderIndexKey(self.currentIndex))
        }
    }
}
