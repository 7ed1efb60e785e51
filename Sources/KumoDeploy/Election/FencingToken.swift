/// A number handed to each new leader, greater than every earlier leader's: whatever a leader
/// writes downstream carries it, and the downstream refuses a write whose token is lower than
/// one it has seen, so a deposed leader's late writes cannot land (Kleppmann's fencing).
public struct FencingToken: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The number.
    public let value: UInt64

    public init(_ value: UInt64) { self.value = value }

    public static func < (lhs: FencingToken, rhs: FencingToken) -> Bool { lhs.value < rhs.value }

    public var description: String { "\(value)" }
}

/// What a campaign reports: this process became the leader, with the term's token, or stopped
/// being it.
public enum Leadership: Sendable, Equatable {
    case elected(FencingToken)
    case demoted
}
