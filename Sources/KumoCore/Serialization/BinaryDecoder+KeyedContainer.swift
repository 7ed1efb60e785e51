/// Reads the entries of a keyed container.
///
/// Lookups first look at the entry after the previously decoded one (synthesized `Codable`
/// decodes in the order it encoded); other keys are found by scanning the container, and once
/// that has happened a few times, through a lookup table built in one pass. Unknown entries are
/// never decoded, only skipped.
struct BinaryKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: BinaryDecoderState
    /// Index of this container's frame in `state.frames`.
    let frame: Int
    /// The frame's id, checked on every access.
    let id: Int

    /// Always empty: coding paths are only built for errors.
    var codingPath: [any CodingKey] { [] }

    /// The container's keys that `Key` can represent, in wire order. Empty for a malformed
    /// container (decoding any key from it then throws).
    var allKeys: [Key] {
        guard let strings = try? self.state.allKeyStrings(frame: self.frame, id: self.id) else { return [] }
        var keys: [Key] = []
        keys.reserveCapacity(strings.count)
        for string in strings {
            if let key = Key(stringValue: string) { keys.append(key) }
        }
        return keys
    }

    func contains(_ key: Key) -> Bool {
        (try? self.state.findEntry(key.stringValue, frame: self.frame, id: self.id)) != nil
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        do throws(CoderFault) {
            guard let entry = try self.state.findEntry(key.stringValue, frame: self.frame, id: self.id) else {
                throw .keyNotFound
            }
            guard entry.wireType == CoderWireType.null.rawValue else { return false }
            self.state.advance(frame: self.frame, to: entry.end)
            return true
        } catch {
            throw CoderErrors.make(error, type: Any?.self, key: key)
        }
    }

    // MARK: Lookup helpers

    @inline(__always)
    private func read<T>(_ type: T.Type, _ key: Key, _ body: (CoderEntry) throws(CoderFault) -> T) throws -> T {
        do throws(CoderFault) {
            guard let entry = try self.state.findEntry(key.stringValue, frame: self.frame, id: self.id) else {
                throw .keyNotFound
            }
            let value = try body(entry)
            self.state.advance(frame: self.frame, to: entry.end)
            return value
        } catch {
            throw CoderErrors.make(error, type: T.self, key: key)
        }
    }

    @inline(__always)
    private func readIfPresent<T>(_ type: T.Type, _ key: Key, _ body: (CoderEntry) throws(CoderFault) -> T) throws -> T? {
        do throws(CoderFault) {
            guard let entry = try self.state.findEntry(key.stringValue, frame: self.frame, id: self.id) else {
                return nil
            }
            if entry.wireType == CoderWireType.null.rawValue {
                self.state.advance(frame: self.frame, to: entry.end)
                return nil
            }
            let value = try body(entry)
            self.state.advance(frame: self.frame, to: entry.end)
            return value
        } catch {
            throw CoderErrors.make(error, type: T.self, key: key)
        }
    }

    // MARK: Primitives

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try self.read(Bool.self, key) { [state] (entry) throws(CoderFault) in try state.entryBool(entry) }
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try self.read(String.self, key) { [state] (entry) throws(CoderFault) in try state.entryString(entry) }
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try self.read(Double.self, key) { [state] (entry) throws(CoderFault) in try state.entryDouble(entry) }
    }

    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try self.read(Float.self, key) { [state] (entry) throws(CoderFault) in try state.entryFloat(entry) }
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try self.read(Int.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int.self) }
    }

    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try self.read(Int8.self, key) { [state] (entry) throws(CoderFault) in Int8(bitPattern: try state.entryByte(entry)) }
    }

    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try self.read(Int16.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int16.self) }
    }

    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try self.read(Int32.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int32.self) }
    }

    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try self.read(Int64.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int64.self) }
    }

    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 {
        try self.read(Int128.self, key) { [state] (entry) throws(CoderFault) in Int128(bitPattern: try state.entryUInt128(entry)) }
    }

    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try self.read(UInt.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt.self) }
    }

    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try self.read(UInt8.self, key) { [state] (entry) throws(CoderFault) in try state.entryByte(entry) }
    }

    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try self.read(UInt16.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt16.self) }
    }

    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try self.read(UInt32.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt32.self) }
    }

    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try self.read(UInt64.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt64.self) }
    }

    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 {
        try self.read(UInt128.self, key) { [state] (entry) throws(CoderFault) in try state.entryUInt128(entry) }
    }

    // MARK: Optional primitives (absent or nil entry → nil)

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try self.readIfPresent(Bool.self, key) { [state] (entry) throws(CoderFault) in try state.entryBool(entry) }
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try self.readIfPresent(String.self, key) { [state] (entry) throws(CoderFault) in try state.entryString(entry) }
    }

    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try self.readIfPresent(Double.self, key) { [state] (entry) throws(CoderFault) in try state.entryDouble(entry) }
    }

    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try self.readIfPresent(Float.self, key) { [state] (entry) throws(CoderFault) in try state.entryFloat(entry) }
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try self.readIfPresent(Int.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int.self) }
    }

    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        try self.readIfPresent(Int8.self, key) { [state] (entry) throws(CoderFault) in Int8(bitPattern: try state.entryByte(entry)) }
    }

    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        try self.readIfPresent(Int16.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int16.self) }
    }

    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        try self.readIfPresent(Int32.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int32.self) }
    }

    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try self.readIfPresent(Int64.self, key) { [state] (entry) throws(CoderFault) in try state.entrySigned(entry, Int64.self) }
    }

    func decodeIfPresent(_ type: Int128.Type, forKey key: Key) throws -> Int128? {
        try self.readIfPresent(Int128.self, key) { [state] (entry) throws(CoderFault) in Int128(bitPattern: try state.entryUInt128(entry)) }
    }

    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        try self.readIfPresent(UInt.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt.self) }
    }

    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        try self.readIfPresent(UInt8.self, key) { [state] (entry) throws(CoderFault) in try state.entryByte(entry) }
    }

    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        try self.readIfPresent(UInt16.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt16.self) }
    }

    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        try self.readIfPresent(UInt32.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt32.self) }
    }

    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        try self.readIfPresent(UInt64.self, key) { [state] (entry) throws(CoderFault) in try state.entryUnsigned(entry, UInt64.self) }
    }

    func decodeIfPresent(_ type: UInt128.Type, forKey key: Key) throws -> UInt128? {
        try self.readIfPresent(UInt128.self, key) { [state] (entry) throws(CoderFault) in try state.entryUInt128(entry) }
    }

    // MARK: Generic values

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        do {
            guard let entry = try self.state.findEntry(key.stringValue, frame: self.frame, id: self.id) else {
                throw CoderFault.keyNotFound
            }
            let value = try self.state.decodeEntry(T.self, entry)
            self.state.advance(frame: self.frame, to: entry.end)
            return value
        } catch {
            throw CoderErrors.convert(error, type: T.self, key: key)
        }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        do {
            guard let entry = try self.state.findEntry(key.stringValue, frame: self.frame, id: self.id) else {
                return nil
            }
            if entry.wireType == CoderWireType.null.rawValue {
                self.state.advance(frame: self.frame, to: entry.end)
                return nil
            }
            let value: T
            if _isOptional(T.self) {
                // Mirrors `encodeIfPresent`: a present optional keeps its tag byte.
                value = try self.state.decodeDelimited(T.self, entry)
            } else {
                value = try self.state.decodeEntry(T.self, entry)
            }
            self.state.advance(frame: self.frame, to: entry.end)
            return value
        } catch {
            throw CoderErrors.convert(error, type: T.self, key: key)
        }
    }

    // MARK: Nesting

    /// The `[start, end)` of the value held by the wire-type-4 entry for `key`.
    private func delimitedRegion(_ key: String) throws(CoderFault) -> (start: Int, end: Int) {
        guard let entry = try self.state.findEntry(key, frame: self.frame, id: self.id) else {
            throw .keyNotFound
        }
        try self.state.expect(entry, .container)
        var position = entry.payload
        let length = try self.state.readU32Length(&position, entry.end)
        self.state.advance(frame: self.frame, to: entry.end)
        return (position, position + length)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        do throws(CoderFault) {
            let (start, end) = try self.delimitedRegion(key.stringValue)
            let (index, id) = try self.state.openKeyed(start: start, limit: end)
            return KeyedDecodingContainer(BinaryKeyedDecodingContainer<NestedKey>(state: self.state, frame: index, id: id))
        } catch {
            throw CoderErrors.make(error, type: KeyedDecodingContainer<NestedKey>.self, typeName: "keyed container", key: key)
        }
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        do throws(CoderFault) {
            let (start, end) = try self.delimitedRegion(key.stringValue)
            let (elementsStart, elementsEnd) = try self.state.openUnkeyed(start: start, limit: end)
            return BinaryUnkeyedDecodingContainer(state: self.state, position: elementsStart, end: elementsEnd)
        } catch {
            throw CoderErrors.make(error, type: (any UnkeyedDecodingContainer).self, typeName: "unkeyed container", key: key)
        }
    }

    func superDecoder() throws -> any Decoder {
        try self.superDecoder(key: CoderSuperKey())
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try self.superDecoder(key: key)
    }

    private func superDecoder(key: any CodingKey) throws -> any Decoder {
        do throws(CoderFault) {
            let (start, end) = try self.delimitedRegion(key.stringValue)
            return BinaryDecoderImpl(state: self.state, start: start, limit: end)
        } catch {
            throw CoderErrors.make(error, type: (any Decoder).self, typeName: "super decoder", key: key)
        }
    }
}
