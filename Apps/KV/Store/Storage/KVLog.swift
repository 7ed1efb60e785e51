import Foundation
import KumoCore
import NIOCore
import Synchronization

/// A node's records on disk (`--data DIR`): an append-only file of length-prefixed records in
/// Kumo's binary format, read back at start. A record cut short by a crash (the last one) is
/// dropped; the file is rewritten compactly when it has grown to four times what it holds.
public final class KVLog: Sendable {
    public let path: String
    private let handle: Mutex<FileHandle?>
    private let written = Atomic<Int>(0)

    /// The log in `directory` (created if needed).
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("kumo-kv.log")
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        self.handle = Mutex(handle)
    }

    /// Every record in the file, oldest first.
    public func readAll() throws -> [KVRecord] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var buffer = ByteBuffer(bytes: data)
        var records: [KVRecord] = []
        let decoder = BinaryDecoder()
        var end = 0
        while let length = buffer.readInteger(endianness: .little, as: UInt32.self) {
            guard let body = buffer.readSlice(length: Int(length)) else { break }
            guard let record = try? decoder.decode(KVRecord.self, from: body) else { break }
            records.append(record)
            end = buffer.readerIndex
        }
        if end < data.count {
            // A record cut short (a crash while writing it): cut it off, so that what is
            // appended next follows the last whole record.
            try handle.withLock { handle in
                try handle?.truncate(atOffset: UInt64(end))
                try handle?.seekToEnd()
            }
        }
        written.store(end, ordering: .relaxed)
        return records
    }

    /// Appends `records`.
    public func append(_ records: [KVRecord]) throws {
        var buffer = ByteBuffer()
        let encoder = BinaryEncoder()
        for record in records {
            let body = try encoder.encode(record)
            buffer.writeInteger(UInt32(body.readableBytes), endianness: .little)
            buffer.writeImmutableBuffer(body)
        }
        let data = Data(buffer.readableBytesView)
        try handle.withLock { handle in
            try handle?.write(contentsOf: data)
        }
        written.add(data.count, ordering: .relaxed)
    }

    /// Empties the file.
    public func reset() throws {
        try handle.withLock { handle in
            try handle?.truncate(atOffset: 0)
            try handle?.seek(toOffset: 0)
        }
        written.store(0, ordering: .relaxed)
    }

    /// Rewrites the file to hold only `current`, when it has grown past four times their size.
    /// Only before the first append (at start): an append during the rewrite would be lost.
    func compact(keeping current: [KVRecord]) throws {
        let estimate = current.reduce(0) { $0 + $1.key.utf8.count + ($1.entry.value?.count ?? 0) + 32 }
        guard written.load(ordering: .relaxed) > 4 * max(estimate, 1 << 20) else { return }
        let temporary = path + ".compact"
        _ = FileManager.default.createFile(atPath: temporary, contents: nil)
        let staging = try KVLog(replacing: temporary)
        try staging.append(current)
        try handle.withLock { handle in
            try handle?.close()
            _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: path), withItemAt: URL(fileURLWithPath: temporary))
            let reopened = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try reopened.seekToEnd()
            handle = reopened
        }
        written.store(staging.written.load(ordering: .relaxed), ordering: .relaxed)
    }

    private init(replacing path: String) throws {
        self.path = path
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.handle = Mutex(handle)
    }
}
