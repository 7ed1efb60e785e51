/// The `Decoder` handed to `init(from:)`: a view of the shared ``BinaryDecoderState`` for the
/// value starting at `start`.
struct BinaryDecoderImpl: Decoder {
    let state: BinaryDecoderState
    /// Offset of the value's first byte.
    let start: Int
    /// Offset past which the value may not extend.
    let limit: Int

    /// Always empty: coding paths are only built for errors (see `DecodingError.codingPath`).
    var codingPath: [any CodingKey] { [] }

    var userInfo: [CodingUserInfoKey: Any] { self.state.userInfoAny }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        do throws(CoderFault) {
            let (index, id) = try self.state.openKeyed(start: self.start, limit: self.limit)
            return KeyedDecodingContainer(BinaryKeyedDecodingContainer<Key>(state: self.state, frame: index, id: id))
        } catch {
            throw CoderErrors.make(error, type: KeyedDecodingContainer<Key>.self, typeName: "keyed container", key: nil)
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        do throws(CoderFault) {
            let (start, end) = try self.state.openUnkeyed(start: self.start, limit: self.limit)
            return BinaryUnkeyedDecodingContainer(state: self.state, position: start, end: end)
        } catch {
            throw CoderErrors.make(error, type: (any UnkeyedDecodingContainer).self, typeName: "unkeyed container", key: nil)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        if self.start == self.state.levelStart { self.state.levelRequested = true }
        self.state.position = self.start
        return BinarySingleValueDecodingContainer(state: self.state, limit: self.limit)
    }
}
