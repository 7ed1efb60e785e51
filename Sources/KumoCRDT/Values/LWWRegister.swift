/// A register whose last write wins, by a timestamp of wall-clock milliseconds and the writing
/// replica. A replica's next write always carries a later timestamp than the value it holds, so a
/// write that follows another (on any replica) wins even when clocks disagree; of concurrent
/// writes, the one with the later clock wins.
public struct LWWRegister<Value: Codable & Sendable & Equatable>: CRDT, CustomStringConvertible {
    /// When a value was written, and by whom; ordered by time, then by replica.
    public struct Timestamp: Hashable, Comparable, Codable, Sendable {
        /// Wall-clock milliseconds (or later than the value it replaced).
        public var millis: UInt64
        /// The replica that wrote it.
        public var replica: ReplicaID

        public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
            (lhs.millis, lhs.replica) < (rhs.millis, rhs.replica)
        }
    }

    /// The value, `nil` until a replica writes one.
    public private(set) var value: Value?
    /// When the value was written.
    public private(set) var timestamp: Timestamp?

    public init() {}

    /// Writes `value` at `now` (milliseconds) for `replica`; returns the delta.
    @discardableResult
    public mutating func assign(_ value: Value, at replica: ReplicaID, now: UInt64) -> LWWRegister {
        let millis = Swift.max(now, (timestamp?.millis ?? 0) &+ 1)
        self.value = value
        self.timestamp = Timestamp(millis: millis, replica: replica)
        return self
    }

    public mutating func merge(_ other: LWWRegister) {
        guard let theirs = other.timestamp else { return }
        if let mine = timestamp, mine >= theirs { return }
        value = other.value
        timestamp = theirs
    }

    public var description: String { "LWWRegister(\(value.map { "\($0)" } ?? "nil"))" }
}
