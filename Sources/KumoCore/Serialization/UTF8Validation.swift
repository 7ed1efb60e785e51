/// Strict UTF-8 validation for decoded strings and keys.
///
/// The standard library's `String(validating:as:)` is generic over its input and looks up type
/// metadata on every call, which made it the most expensive step of decoding a short string. This
/// validator accepts exactly the well-formed UTF-8 of RFC 3629 / Unicode §3.9 (no overlong forms,
/// no surrogates, nothing above U+10FFFF), after which the bytes are turned into a `String`
/// without further checks being able to change them.
enum CoderUTF8 {
    /// Whether `bytes` is well-formed UTF-8.
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            // ASCII runs, eight bytes at a time.
            if count - index >= 8 {
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                    continue
                }
            }
            let lead = base.load(fromByteOffset: index, as: UInt8.self)
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80  // allowed range of the second byte
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF:
                length = 2
            case 0xE0:
                length = 3
                low = 0xA0  // no overlong forms
            case 0xE1...0xEC, 0xEE...0xEF:
                length = 3
            case 0xED:
                length = 3
                high = 0x9F  // no surrogates
            case 0xF0:
                length = 4
                low = 0x90  // no overlong forms
            case 0xF1...0xF3:
                length = 4
            case 0xF4:
                length = 4
                high = 0x8F  // nothing above U+10FFFF
            default:
                return false  // continuation byte, 0xC0/0xC1, or 0xF5...
            }
            guard count - index >= length else { return false }
            let second = base.load(fromByteOffset: index + 1, as: UInt8.self)
            guard second >= low, second <= high else { return false }
            var offset = 2
            while offset < length {
                guard base.load(fromByteOffset: index + offset, as: UInt8.self) & 0xC0 == 0x80 else { return false }
                offset += 1
            }
            index += length
        }
        return true
    }

    /// A `String` of the validated UTF-8 `bytes`, or nil if they are not well-formed.
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard self.isValid(bytes) else { return nil }
        // The bytes are valid, so decoding cannot repair (alter) anything.
        return String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
    }
}
