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

    /// Stores `value` as a varint at `pointer` (which must have room for its encoding:
    /// ``maxLength`` bytes cover any value) and returns the number of bytes written.
    @inline(__always)
    static func write(_ value: UInt64, to pointer: UnsafeMutableRawPointer) -> Int {
        if value < 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            return 1
        }
        return self.writeMultiByte(value, to: pointer)
    }

    @inline(never)
    static func writeMultiByte(_ value: UInt64, to pointer: UnsafeMutableRawPointer) -> Int {
        var remaining = value
        var index = 0
        while remaining >= 0x80 {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: remaining) | 0x80, toByteOffset: index, as: UInt8.self)
            remaining >>= 7
            index += 1
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: remaining), toByteOffset: index, as: UInt8.self)
        return index + 1
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
        if limit - position >= 2 {
            let second = self[position + 1]
            if second < 0x80 {
                position += 2
                return UInt64(first & 0x7F) | UInt64(second) << 7
            }
        }
        return try self.readMultiByteCoderVarint(at: &position, limit: limit)
    }

    /// Moves `position` past a varint without computing its value, with the same checks as
    /// ``readCoderVarint(at:limit:)``.
    @inline(__always)
    func skipCoderVarint(at position: inout Int, limit: Int) throws(CoderFault) {
        guard position < limit else { throw .truncated(needed: 1) }
        if self[position] < 0x80 {
            position += 1
            return
        }
        _ = try self.readCoderVarint(at: &position, limit: limit)
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
