import Foundation
import GRDB
import Kumo

/// A node's replicas on disk: an embedded SQLite database (through GRDB) in the node's data
/// directory. Changes are appended as records in batches, each batch one transaction; now and then
/// the values of the keys changed are written whole and the records they cover deleted. A node
/// started with the same directory loads the values, then the records after them.
final class ReplicaStorage: Sendable {
    /// One change, as stored: a delta or a whole value of a key.
    struct Record: Sendable {
        enum Kind: Int, Sendable { case delta = 0, state = 1 }
        var kind: Kind
        var key: String
        var type: String
        var bytes: [UInt8]
        /// The encoded changes (delta dots, or the applied context) it covers.
        var context: [UInt8]
    }

    private let queue: DatabaseQueue
    /// The file the database is in.
    let path: String

    /// Opens (or creates) the database in `directory`.
    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("replicas.sqlite")
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Every committed batch survives a crash of the process; WAL keeps writers fast.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
        }
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS states (
                    key TEXT PRIMARY KEY NOT NULL, type TEXT NOT NULL, value BLOB NOT NULL, context BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS deltas (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, type TEXT NOT NULL,
                    value BLOB NOT NULL, context BLOB NOT NULL);
                """)
        }
    }

    /// Appends `records` in one transaction.
    func append(_ records: [Record]) async throws {
        guard !records.isEmpty else { return }
        try await queue.write { db in
            for record in records {
                switch record.kind {
                case .delta:
                    try db.execute(
                        sql: "INSERT INTO deltas (key, type, value, context) VALUES (?, ?, ?, ?)",
                        arguments: [record.key, record.type, Data(record.bytes), Data(record.context)])
                case .state:
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO states (key, type, value, context) VALUES (?, ?, ?, ?)",
                        arguments: [record.key, record.type, Data(record.bytes), Data(record.context)])
                }
            }
        }
    }

    /// The highest delta record number written so far.
    func lastDelta() async throws -> Int64 {
        try await queue.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM deltas") ?? 0 }
    }

    /// Writes `states` whole and deletes the delta records up to `seq`, which they cover.
    func snapshot(_ states: [Record], coveringDeltasUpTo seq: Int64) async throws {
        try await queue.write { db in
            for record in states {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO states (key, type, value, context) VALUES (?, ?, ?, ?)",
                    arguments: [record.key, record.type, Data(record.bytes), Data(record.context)])
            }
            try db.execute(sql: "DELETE FROM deltas WHERE seq <= ?", arguments: [seq])
        }
    }

    /// Every stored value, then every delta after them, in the order written.
    func load() throws -> [Record] {
        try queue.read { db in
            var records: [Record] = []
            for row in try Row.fetchAll(db, sql: "SELECT key, type, value, context FROM states") {
                records.append(Record(
                    kind: .state, key: row["key"], type: row["type"], bytes: [UInt8](row["value"] as Data),
                    context: [UInt8](row["context"] as Data)))
            }
            for row in try Row.fetchAll(db, sql: "SELECT key, type, value, context FROM deltas ORDER BY seq") {
                records.append(Record(
                    kind: .delta, key: row["key"], type: row["type"], bytes: [UInt8](row["value"] as Data),
                    context: [UInt8](row["context"] as Data)))
            }
            return records
        }
    }
}
