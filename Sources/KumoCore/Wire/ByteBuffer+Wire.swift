import NIOCore

// Primitive field encodings of the frame format (docs/wire.md): LEB128 varints, length-prefixed
// UTF-8 strings and byte strings. Readers throw `WireError` and never trap on bad input.

extension ByteBuffer {
    /// Appends `value` as an unsigned LEB128 varint (1–10 bytes).
    @inlinable
    package mutating func writeWireVarint(_ value: UInt64) {
        if value < 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: value))
            return
        }
        // One capacity check for the whole varint, not one per byte.
        writeWithUnsafeMutableBytes(minimumWritableBytes: 10) { out in
            var value = value
            var index = 0
            while value >= 0x80 {
                out[index] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                index += 1
            }
            out[index] = UInt8(truncatingIfNeeded: value)
            return index + 1
        }
    }

    /// Appends `value` as an unsigned LEB128 varint.
    @inlinable
    package mutating func writeWireVarint(_ value: Int) {
        writeWireVarint(UInt64(truncatingIfNeeded: value))
    }

    /// Reads an unsigned LEB128 varint.
    @inlinable
    package mutating func readWireVarint() throws(WireError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = readInteger(as: UInt8.self) else {
                throw WireError(.truncated, "varint ends early")
            }
            if shift == 63 && byte > 1 {
                throw WireError(.malformed, "varint overflows 64 bits")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw WireError(.malformed, "varint longer than 10 bytes") }
        }
    }

    /// Reads a varint that must fit in `0...limit`, as an `Int`.
    @inlinable
    package mutating func readWireLength(limit: Int, _ what: @autoclosure () -> String) throws(WireError) -> Int {
        let value = try readWireVarint()
        guard value <= UInt64(limit) else {
            throw WireError(.malformed, "\(what()) of \(value) exceeds \(limit)")
        }
        return Int(value)
    }

    /// Appends a varint byte length and the UTF-8 bytes of `string`.
    @inlinable
    package mutating func writeWireString(_ string: String) {
        writeWireVarint(string.utf8.count)
        writeString(string)
    }

    /// Reads a string written by ``writeWireString(_:)``; invalid UTF-8 is an error.
    @inlinable
    package mutating func readWireString(_ what: @autoclosure () -> String = "string") throws(WireError) -> String {
        let length = try readWireLength(limit: readableBytes, "\(what()) length")
        guard let view = readSlice(length: length) else {
            throw WireError(.truncated, "\(what()) ends early")
        }
        guard let string = String(validating: view.readableBytesView, as: UTF8.self) else {
            throw WireError(.malformed, "\(what()) is not valid UTF-8")
        }
        return string
    }

    /// Reads exactly `count` bytes as a slice.
    @inlinable
    package mutating func readWireSlice(_ count: Int, _ what: @autoclosure () -> String) throws(WireError) -> ByteBuffer {
        guard let slice = readSlice(length: count) else {
            throw WireError(.truncated, "\(what()) ends early (needs \(count) bytes, has \(readableBytes))")
        }
        return slice
    }

    /// Reads a fixed-width integer.
    @inlinable
    package mutating func readWireInteger<T: FixedWidthInteger>(as: T.Type, _ what: @autoclosure () -> String) throws(WireError) -> T {
        guard let value = readInteger(as: T.self) else {
            throw WireError(.truncated, "\(what()) ends early")
        }
        return value
    }

    /// Appends a node identity: host string, port varint, incarnation (8 bytes, big-endian).
    @inlinable
    package mutating func writeWireNodeID(_ node: NodeID) {
        writeWireString(node.address.host)
        writeWireVarint(node.address.port)
        writeInteger(node.incarnation)
    }

    /// Reads a node identity written by ``writeWireNodeID(_:)``.
    @inlinable
    package mutating func readWireNodeID() throws(WireError) -> NodeID {
        let host = try readWireString("node host")
        let port = try readWireLength(limit: 65535, "node port")
        let incarnation = try readWireInteger(as: UInt64.self, "node incarnation")
        return NodeID(address: NodeAddress(host: host, port: port), incarnation: incarnation)
    }

    /// Appends an actor path: tag 0 + number varint, or tag 1 + name string.
    @inlinable
    package mutating func writeWireActorPath(_ path: ActorID.Path) {
        switch path.storage {
        case .number(let number):
            writeInteger(UInt8(0))
            writeWireVarint(number)
        case .name(let name):
            writeInteger(UInt8(1))
            writeWireString(name)
        }
    }

    /// Reads an actor path written by ``writeWireActorPath(_:)``.
    @inlinable
    package mutating func readWireActorPath() throws(WireError) -> ActorID.Path {
        switch try readWireInteger(as: UInt8.self, "actor path tag") {
        case 0: return .number(try readWireVarint())
        case 1: return .name(try readWireString("actor name"))
        case let tag: throw WireError(.malformed, "unknown actor path tag \(tag)")
        }
    }
}
