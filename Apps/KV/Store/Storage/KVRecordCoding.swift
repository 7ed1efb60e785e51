import NIOCore

/// Records as bytes, for the wire between nodes and for the log: a flat layout written and read
/// in one pass (Codable's general path cost a fifth of a node's time under load). Reading checks
/// every length against what is there: bytes from another node, or a torn file, are an error,
/// never a crash.
///
/// Per record: key length (u32) and key (UTF-8); flags (u8: 1 value, 2 expiry); value length
/// (u32) and value if any; version time and node (u64 each); expiry (u64) if any. Little-endian.
enum KVRecordCoding {
    struct Malformed: Error, CustomStringConvertible {
        var description: String { "malformed records" }
    }

    static func encode(_ records: [KVRecord], into buffer: inout ByteBuffer) {
        for record in records {
            let key = record.key.utf8
            buffer.writeInteger(UInt32(key.count), endianness: .little)
            buffer.writeBytes(key)
            let entry = record.entry
            var flags: UInt8 = 0
            if entry.value != nil { flags |= 1 }
            if entry.expiresAt != nil { flags |= 2 }
            buffer.writeInteger(flags)
            if let value = entry.value {
                buffer.writeInteger(UInt32(value.count), endianness: .little)
                buffer.writeBytes(value)
            }
            buffer.writeInteger(entry.version.time, endianness: .little)
            buffer.writeInteger(entry.version.node, endianness: .little)
            if let expiresAt = entry.expiresAt { buffer.writeInteger(expiresAt, endianness: .little) }
        }
    }

    static func encode(_ records: [KVRecord]) -> [UInt8] {
        var buffer = ByteBuffer()
        encode(records, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Reads one record; `nil` at the end of the bytes.
    static func next(_ buffer: inout ByteBuffer) throws(Malformed) -> KVRecord? {
        guard buffer.readableBytes > 0 else { return nil }
        guard let keyLength = buffer.readInteger(endianness: .little, as: UInt32.self),
            let keyBytes = buffer.readBytes(length: Int(keyLength)),
            let key = String(validating: keyBytes, as: UTF8.self),
            let flags = buffer.readInteger(as: UInt8.self)
        else { throw Malformed() }
        var value: [UInt8]?
        if flags & 1 != 0 {
            guard let length = buffer.readInteger(endianness: .little, as: UInt32.self),
                let bytes = buffer.readBytes(length: Int(length))
            else { throw Malformed() }
            value = bytes
        }
        guard let time = buffer.readInteger(endianness: .little, as: UInt64.self),
            let node = buffer.readInteger(endianness: .little, as: UInt64.self)
        else { throw Malformed() }
        var expiresAt: UInt64?
        if flags & 2 != 0 {
            guard let expiry = buffer.readInteger(endianness: .little, as: UInt64.self) else { throw Malformed() }
            expiresAt = expiry
        }
        return KVRecord(key: key, entry: KVEntry(value: value, version: KVVersion(time: time, node: node), expiresAt: expiresAt))
    }

    static func decode(_ bytes: [UInt8]) throws(Malformed) -> [KVRecord] {
        var buffer = ByteBuffer(bytes: bytes)
        var records: [KVRecord] = []
        while let record = try next(&buffer) { records.append(record) }
        return records
    }
}

/// Keys and optional values as bytes, for reads between nodes: each a u32 length (values:
/// u32.max for none) and the bytes. Checked on reading, like records.
enum KVListCoding {
    static func encode(_ items: [[UInt8]?]) -> [UInt8] {
        var buffer = ByteBuffer()
        for item in items {
            if let item {
                buffer.writeInteger(UInt32(item.count), endianness: .little)
                buffer.writeBytes(item)
            } else {
                buffer.writeInteger(UInt32.max, endianness: .little)
            }
        }
        return Array(buffer.readableBytesView)
    }

    static func decode(_ bytes: [UInt8]) throws(KVRecordCoding.Malformed) -> [[UInt8]?] {
        var buffer = ByteBuffer(bytes: bytes)
        var items: [[UInt8]?] = []
        while buffer.readableBytes > 0 {
            guard let length = buffer.readInteger(endianness: .little, as: UInt32.self) else { throw .init() }
            if length == UInt32.max {
                items.append(nil)
                continue
            }
            guard let item = buffer.readBytes(length: Int(length)) else { throw .init() }
            items.append(item)
        }
        return items
    }

    static func encode(keys: [String]) -> [UInt8] { encode(keys.map { Array($0.utf8) }) }

    static func decodeKeys(_ bytes: [UInt8]) throws(KVRecordCoding.Malformed) -> [String] {
        try decode(bytes).map { (item) throws(KVRecordCoding.Malformed) -> String in
            guard let item, let key = String(validating: item, as: UTF8.self) else { throw .init() }
            return key
        }
    }
}
