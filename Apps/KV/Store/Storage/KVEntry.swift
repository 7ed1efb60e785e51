import Kumo

/// The version of a key's value: when it was written (a hybrid clock: microseconds, never less
/// than a version the writer saw) and by which node. The higher version wins everywhere, so
/// replicas that apply the same writes in any order agree.
public struct KVVersion: Sendable, Codable, Hashable, Comparable {
    public var time: UInt64
    public var node: UInt64

    public static let zero = KVVersion(time: 0, node: 0)

    public static func < (lhs: KVVersion, rhs: KVVersion) -> Bool {
        (lhs.time, lhs.node) < (rhs.time, rhs.node)
    }
}

/// A key's value as a replica keeps it: the bytes (`nil`: deleted, a tombstone that keeps an
/// old copy from coming back), its version, and when it expires (milliseconds since 1970).
public struct KVEntry: Sendable, Codable, Equatable {
    public var value: [UInt8]?
    public var version: KVVersion
    public var expiresAt: UInt64?

    public init(value: [UInt8]?, version: KVVersion, expiresAt: UInt64? = nil) {
        self.value = value
        self.version = version
        self.expiresAt = expiresAt
    }

    /// The value, unless deleted or expired at `now` (milliseconds since 1970).
    public func live(at now: UInt64) -> [UInt8]? {
        if let expiresAt, expiresAt <= now { return nil }
        return value
    }
}

/// A key and its entry, as replicas exchange them.
public struct KVRecord: Sendable, Codable, Equatable {
    public var key: String
    public var entry: KVEntry

    public init(key: String, entry: KVEntry) {
        self.key = key
        self.entry = entry
    }
}
