import KumoCore

/// The order in which a node probes the other members (SWIM's round-robin): a shuffled list,
/// walked to its end and then shuffled anew from the current members. A member that joins is
/// inserted at a random place in the rest of the walk, so it is probed within one walk of
/// joining, not only after the walk it missed has ended (with 1,000 members a walk lasts
/// minutes).
struct ProbeOrder: Sendable {
    private var remaining: [NodeID] = []

    init() {}

    /// Puts `node`, a new member, somewhere in the rest of the walk.
    mutating func insert(_ node: NodeID, using random: inout some RandomNumberGenerator) {
        remaining.insert(node, at: Int.random(in: 0...remaining.count, using: &random))
    }

    /// The next member to probe: the next in the walk that `isAlive` still holds for, or the
    /// first of a new walk over `members`.
    mutating func next(
        isAlive: (NodeID) -> Bool, members: () -> [NodeID], using random: inout some RandomNumberGenerator
    ) -> NodeID? {
        while let next = remaining.popLast() {
            if isAlive(next) { return next }
        }
        remaining = members().shuffled(using: &random)
        return remaining.popLast()
    }
}
