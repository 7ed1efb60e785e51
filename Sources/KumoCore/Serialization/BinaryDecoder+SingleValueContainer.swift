/// Reads one bare value at the decoder's position.
struct BinarySingleValueDecodingContainer: SingleValueDecodingContainer {
    let state: BinaryDecoderState
    let limit: Int

    /// Always empty: coding paths are only built for errors.
    var codingPath: [any CodingKey] { [] }

    /// True (consuming it) if the next byte is the `Optional` nil tag 0.
    func decodeNil() -> Bool {
        let position = self.state.position
        guard position < self.limit, self.limit <= self.state.bytes.count, self.state.bytes[position] == 0 else {
            return false
        }
        self.state.position = position + 1
        return true
    }

    @inline(__always)
    private func read<T>(_ type: T.Type, _ body: (inout Int, Int) throws(CoderFault) -> T) throws -> T {
        var position = self.state.position
        do throws(CoderFault) {
            guard self.limit <= self.state.bytes.count else { throw CoderFault.containerExpired }
            let value = try body(&position, self.limit)
            self.state.position = position
            return value
        } catch {
            throw CoderErrors.make(error, type: T.self, key: nil)
        }
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        try self.read(Bool.self) { (p, l) throws(CoderFault) in try self.state.readBool(&p, l) }
    }

    func decode(_ type: String.Type) throws -> String {
        try self.read(String.self) { (p, l) throws(CoderFault) in try self.state.readString(&p, l) }
    }

    func decode(_ type: Double.Type) throws -> Double {
        try self.read(Double.self) { (p, l) throws(CoderFault) in Double(bitPattern: try self.state.readFixed64(&p, l)) }
    }

    func decode(_ type: Float.Type) throws -> Float {
        try self.read(Float.self) { (p, l) throws(CoderFault) in Float(bitPattern: try self.state.readFixed32(&p, l)) }
    }

    func decode(_ type: Int.Type) throws -> Int {
        try self.read(Int.self) { (p, l) throws(CoderFault) in try self.state.narrow(self.state.readZigZag(&p, l), to: Int.self) }
    }

    func decode(_ type: Int8.Type) throws -> Int8 {
        try self.read(Int8.self) { (p, l) throws(CoderFault) in Int8(bitPattern: try self.state.readByte(&p, l)) }
    }

    func decode(_ type: Int16.Type) throws -> Int16 {
        try self.read(Int16.self) { (p, l) throws(CoderFault) in try self.state.narrow(self.state.readZigZag(&p, l), to: Int16.self) }
    }

    func decode(_ type: Int32.Type) throws -> Int32 {
        try self.read(Int32.self) { (p, l) throws(CoderFault) in try self.state.narrow(self.state.readZigZag(&p, l), to: Int32.self) }
    }

    func decode(_ type: Int64.Type) throws -> Int64 {
        try self.read(Int64.self) { (p, l) throws(CoderFault) in try self.state.readZigZag(&p, l) }
    }

    func decode(_ type: Int128.Type) throws -> Int128 {
        try self.read(Int128.self) { (p, l) throws(CoderFault) in Int128(bitPattern: try self.state.readUInt128(&p, l)) }
    }

    func decode(_ type: UInt.Type) throws -> UInt {
        try self.read(UInt.self) { (p, l) throws(CoderFault) in try self.state.narrow(self.state.readVarint(&p, l), to: UInt.self) }
    }

    func decode(_ type: UInt8.Type) throws -> UInt8 {
        try self.read(UInt8.self) { (p, l) throws(CoderFault) in try self.state.readByte(&p, l) }
    }

    func decode(_ type: UInt16.Type) throws -> UInt16 {
        try self.read(UInt16.self) { (p, l) throws(CoderFault) in try self.state.narrow(self.state.readVarint(&p, l), to: UInt16.self) }
    }

    func decode(_ type: UInt32.Type) throws -> UInt32 {
        try self.read(UInt32.self) { (p, l) throws(CoderFault) in try self.state.narrow(self.state.readVarint(&p, l), to: UInt32.self) }
    }

    func decode(_ type: UInt64.Type) throws -> UInt64 {
        try self.read(UInt64.self) { (p, l) throws(CoderFault) in try self.state.readVarint(&p, l) }
    }

    func decode(_ type: UInt128.Type) throws -> UInt128 {
        try self.read(UInt128.self) { (p, l) throws(CoderFault) in try self.state.readUInt128(&p, l) }
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        var position = self.state.position
        do {
            guard self.limit <= self.state.bytes.count else { throw CoderFault.containerExpired }
            let value = try self.state.decodeValue(T.self, at: &position, limit: self.limit)
            self.state.position = position
            return value
        } catch {
            throw CoderErrors.convert(error, type: T.self, key: nil)
        }
    }
}
