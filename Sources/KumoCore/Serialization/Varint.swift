import NIOCore

/// LEB128 varints and zigzag mapping, as used by the binary coder.
///
/// A varint stores 7 bits per byte, least significant group first; the high bit of a byte
/// says "more bytes follow". A `UInt64` needs at most 10 bytes. Signed integers are zigzag
/// mapped first (0, -1, 1, -2, … → 0, 1, 2, 3, …) so that small negative numbers stay short.
enum CoderVarint {
    /// The longest valid encoding of a 64-bit value.
    static let maxLength = 10

    /// Maps a signed integer onto an unsigned one so that values near zero get small codes.
    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
    }

    /// Inverse of ``zigzag(_:)``.
    @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ (0 &- Int64(bitPattern: value & 1))
    }

    /// The number of bytes ``ByteBuffer/writeCoderVarint(_:)`` emits for `value`.
    @inline(__always)
    static func encodedLength(_ value: UInt64) -> Int {
        // Bits needed, rounded up to groups of 7; zero still takes one byte.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }
}

extension ByteBuffer {
    /// Appends `value` as an LEB128 varint.
    @inline(__always)
    mutating func writeCoderVarint(_ value: UInt64) {
        if value < 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: value))
        } else {
            self.writeMultiByteCoderVarint(value)
        }
    }

    @inline(never)
    mutating func writeMultiByteCoderVarint(_ value: UInt64) {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: CoderVarint.maxLength) { out in
            var remaining = value
            var index = 0
            while remaining >= 0x80 {
                out[index] = UInt8(truncatingIfNeeded: remaining) | 0x80
                remaining >>= 7
                index += 1
            }
            out[index] = UInt8(truncatingIfNeeded: remaining)
            return index + 1
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Reads a varint starting at `position`, never looking at or past `limit`.
    ///
    /// On success `position` is moved past the varint. Throws on truncation, on an encoding longer
    /// than 10 bytes and on a value that does not fit in 64 bits.
    @inline(__always)
    func readCoderVarint(at position: inout Int, limit: Int) throws(CoderFault) -> UInt64 {
        guard position < limit else { throw .truncated(needed: 1) }
        let first = self[position]
        if first < 0x80 {
            position += 1
            return UInt64(first)
        }
        return try self.readMultiByteCoderVarint(at: &position, limit: limit)
    }

    @inline(never)
    func readMultiByteCoderVarint(at position: inout Int, limit: Int) throws(CoderFault) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = position
        while true {
            guard index < limit else { throw .truncated(needed: 1) }
            let byte = self[index]
            index += 1
            if shift == 63 {
                // The 10th byte may only contribute the single remaining bit.
                if byte >= 0x80 { throw .varintTooLong }
                if byte > 1 { throw .varintOverflow }
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                position = index
                return result
            }
            shift += 7
        }
    }
}
