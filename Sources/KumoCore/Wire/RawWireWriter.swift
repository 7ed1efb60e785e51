/// Writes wire fields into memory sized for them beforehand (see `CallMessage.writePlainHead`).
package struct RawWireWriter {
    private let out: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ out: UnsafeMutableRawBufferPointer) {
        self.out = out
    }

    mutating func byte(_ value: UInt8) {
        out[offset] = value
        offset += 1
    }

    mutating func bigEndian(_ value: UInt32) {
        out.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }

    /// Writes `value` as a varint; the memory was sized with ``varintSize(_:)``.
    mutating func varint(_ value: UInt64) {
        assert(offset + Self.varintSize(value) <= out.count, "no room for a varint")
        guard let base = out.baseAddress else { return }
        offset += CoderVarint.write(value, to: base.advanced(by: offset))
    }

    mutating func utf8(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(bytes))
            offset += bytes.count
        }
    }

    /// How many bytes `value` takes as a varint.
    static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }
}
