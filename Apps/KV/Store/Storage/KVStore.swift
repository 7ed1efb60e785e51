import Foundation
import Kumo
import Synchronization

/// One node's replicas: every key it holds, with its version. Applying a record keeps the
/// higher version, so the order records arrive in does not matter. Safe from any thread.
public final class KVStore: Sendable {
    private struct State: Sendable {
        var entries: [String: KVEntry] = [:]
        /// How many entries are deleted or expired (tombstones).
        var tombstones = 0
    }

    private let state = Mutex(State())
    private let log: KVLog?

    /// A store, kept in `log` when given (and first read back from it).
    public init(log: KVLog? = nil) throws {
        self.log = log
        if let log {
            let records = try log.readAll()
            let kept = state.withLock { state -> [KVRecord] in
                for record in records { _ = Self.merge(record, into: &state) }
                return state.entries.map { KVRecord(key: $0.key, entry: $0.value) }
            }
            try log.compact(keeping: kept)
        }
    }

    /// Milliseconds since 1970.
    public static func now() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    /// The entry under `key`, deleted or not.
    public func entry(_ key: String) -> KVEntry? {
        state.withLock { $0.entries[key] }
    }

    /// The live value under `key`.
    public func value(_ key: String, now: UInt64 = KVStore.now()) -> [UInt8]? {
        state.withLock { $0.entries[key]?.live(at: now) }
    }

    /// Applies `records`, keeping the higher version of each key; returns how many changed.
    @discardableResult
    public func apply(_ records: [KVRecord]) throws -> Int {
        let changed = state.withLock { state in records.filter { Self.merge($0, into: &state) } }
        if let log, !changed.isEmpty { try log.append(changed) }
        return changed.count
    }

    /// Applies one record; whether it changed the key.
    @discardableResult
    public func apply(_ record: KVRecord) throws -> Bool {
        let changed = state.withLock { Self.merge(record, into: &$0) }
        if let log, changed { try log.append([record]) }
        return changed
    }

    /// Reads, changes and writes one key under the store's lock: `change` sees the live value
    /// and returns the new entry (or `nil` to leave it) and a result.
    public func update<R: Sendable>(_ key: String, now: UInt64 = KVStore.now(), _ change: ([UInt8]?) throws -> (KVEntry?, R)) throws -> (KVRecord?, R) {
        let (record, result) = try state.withLock { state -> (KVRecord?, R) in
            let current = state.entries[key]?.live(at: now)
            let (entry, result) = try change(current)
            guard let entry else { return (nil, result) }
            let record = KVRecord(key: key, entry: entry)
            guard Self.merge(record, into: &state) else { return (nil, result) }
            return (record, result)
        }
        if let log, let record { try log.append([record]) }
        return (record, result)
    }

    /// Every record held (tombstones too), for re-replication.
    public func records() -> [KVRecord] {
        state.withLock { $0.entries.map { KVRecord(key: $0.key, entry: $0.value) } }
    }

    /// The live keys.
    public func keys(now: UInt64 = KVStore.now()) -> [String] {
        state.withLock { state in state.entries.compactMap { $0.value.live(at: now) == nil ? nil : $0.key } }
    }

    /// Deletes everything held, at once (FLUSHALL).
    public func removeAll() throws {
        state.withLock { $0 = State() }
        try log?.reset()
    }

    /// Forgets tombstones and expired entries older than `age` milliseconds; returns how many.
    @discardableResult
    public func purge(olderThan age: UInt64, now: UInt64 = KVStore.now()) -> Int {
        state.withLock { state in
            var removed = 0
            for (key, entry) in state.entries where entry.live(at: now) == nil {
                let dead = entry.expiresAt.map { min($0, entry.version.time / 1000) } ?? entry.version.time / 1000
                if dead + age <= now {
                    state.entries.removeValue(forKey: key)
                    removed += 1
                }
            }
            state.tombstones -= min(state.tombstones, removed)
            return removed
        }
    }

    /// How many live keys there are.
    public var count: Int { keys().count }

    @discardableResult
    private static func merge(_ record: KVRecord, into state: inout State) -> Bool {
        if let current = state.entries[record.key], current.version >= record.entry.version { return false }
        if record.entry.value == nil { state.tombstones += 1 }
        state.entries[record.key] = record.entry
        return true
    }
}
