import KumoCore

/// A change of the cluster's membership, as one node observes it.
public enum MembershipEvent: Sendable, Hashable, CustomStringConvertible {
    /// A member's status moved forward (`previous` is `nil` for a member seen the first time).
    case statusChanged(Member, previous: MemberStatus?)
    /// This node's failure detector can no longer reach the member.
    case unreachable(Member)
    /// This node's failure detector reaches the member again.
    case reachable(Member)

    /// The member the event is about.
    public var member: Member {
        switch self {
        case .statusChanged(let member, _), .unreachable(let member), .reachable(let member): member
        }
    }

    public var description: String {
        switch self {
        case .statusChanged(let member, let previous):
            "\(member.name) \(member.node): \(previous.map { "\($0)" } ?? "new") → \(member.status)"
        case .unreachable(let member): "\(member.name) \(member.node): unreachable"
        case .reachable(let member): "\(member.name) \(member.node): reachable"
        }
    }
}
