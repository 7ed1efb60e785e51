import Foundation
import Testing

@testable import KumoKV

@Suite("KV store and log")
struct KVStoreTests {
    func record(_ key: String, _ value: String?, _ time: UInt64, node: UInt64 = 1, expiresAt: UInt64? = nil) -> KVRecord {
        KVRecord(key: key, entry: KVEntry(value: value.map { Array($0.utf8) }, version: KVVersion(time: time, node: node), expiresAt: expiresAt))
    }

    @Test("the higher version wins whatever the order; a tombstone keeps an older copy out")
    func lastWriterWins() throws {
        let a = try KVStore()
        let b = try KVStore()
        let records = [record("k", "1", 10), record("k", "2", 20), record("k", "3", 15), record("k", nil, 30), record("k", "old", 25)]
        try a.apply(records)
        try b.apply(records.reversed())
        #expect(a.entry("k") == b.entry("k"))
        #expect(a.value("k") == nil && a.entry("k")?.version.time == 30)
        #expect(try a.apply([record("k", "older", 29)]) == 0)
        #expect(try a.apply([record("k", "newer", 31)]) == 1)
        #expect(a.value("k") == Array("newer".utf8))
    }

    @Test("expired values read as absent, and are purged with tombstones after their age")
    func expiry() throws {
        let store = try KVStore()
        let now = KVStore.now()
        try store.apply([record("gone", "x", now * 1000, expiresAt: now - 1), record("here", "y", now * 1000, expiresAt: now + 60_000)])
        #expect(store.value("gone") == nil && store.value("here") == Array("y".utf8))
        #expect(store.keys() == ["here"])
        #expect(store.purge(olderThan: 0, now: now + 1) == 1)
        #expect(store.entry("gone") == nil)
    }

    @Test("the log gives a restarted store its records; a record cut short by a crash is dropped")
    func log() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kumo-kv-\(UInt64.random(in: 1...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try KVStore(log: KVLog(directory: directory))
            try store.apply([record("a", "1", 1), record("b", "2", 2)])
            _ = try store.update("a") { _ in (KVEntry(value: Array("3".utf8), version: KVVersion(time: 3, node: 1)), ()) }
        }
        let reopened = try KVStore(log: KVLog(directory: directory))
        #expect(reopened.value("a") == Array("3".utf8) && reopened.value("b") == Array("2".utf8))
        // A torn last record: its length says more than the file holds.
        let path = (directory as NSString).appendingPathComponent("kumo-kv.log")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([200, 0, 0, 0, 1, 2, 3]))
        try handle.close()
        let afterCrash = try KVStore(log: KVLog(directory: directory))
        #expect(afterCrash.keys().sorted() == ["a", "b"])
        try afterCrash.apply([record("c", "4", 4)])
        #expect(try KVStore(log: KVLog(directory: directory)).keys().sorted() == ["a", "b", "c"])
    }
}
