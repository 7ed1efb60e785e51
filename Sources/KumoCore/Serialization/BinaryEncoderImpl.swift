/// The `Encoder` handed to `encode(to:)`: a view of the shared ``BinaryEncoderState`` for one
/// value level.
struct BinaryEncoderImpl: Encoder {
    let state: BinaryEncoderState
    /// The frame depth at which this value's containers start.
    let base: Int
    /// The id of the frame directly below `base` (the enclosing container), checked on use.
    let frameID: Int

    /// An encoder that refuses every write (handed out when a container could not be opened).
    static func invalid(_ state: BinaryEncoderState) -> BinaryEncoderImpl {
        BinaryEncoderImpl(state: state, base: Int.max, frameID: BinaryEncoderState.invalidID)
    }

    /// Always empty: the binary coder does not track coding paths while encoding.
    var codingPath: [any CodingKey] { [] }

    var userInfo: [CodingUserInfoKey: Any] { self.state.userInfoAny }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let (id, depth) = self.state.openContainer(.keyed, base: self.base, frameID: self.frameID)
        return KeyedEncodingContainer(BinaryKeyedEncodingContainer<Key>(state: self.state, id: id, depth: depth))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let (id, depth) = self.state.openContainer(.unkeyed, base: self.base, frameID: self.frameID)
        return BinaryUnkeyedEncodingContainer(state: self.state, id: id, depth: depth)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        BinarySingleValueEncodingContainer(state: self.state, base: self.base, frameID: self.frameID)
    }
}
