import Kumo
import Testing

@testable import KumoDeploy

@Suite("Election rules, alone")
struct ElectionRuleTests {
    func member(_ port: Int, _ status: MemberStatus = .up, up: UInt64, reachable: Bool = true, role: NodeRole = .member) -> Member {
        Member(node: NodeID(address: NodeAddress(host: "10.0.0.1", port: port), incarnation: UInt64(port)), name: "n\(port)",
               status: status, reachability: reachable ? .reachable : .unreachable, role: role, upNumber: up)
    }

    @Test("the oldest up member leads with its up number, while it reaches a majority")
    func oldestMember() {
        let a = member(1, up: 1), b = member(2, up: 2), c = member(3, up: 3)
        #expect(OldestMemberRule.token(of: a.node, in: [a, b, c]) == FencingToken(1))
        #expect(OldestMemberRule.token(of: b.node, in: [a, b, c]) == nil)
        // a unreachable from b: b, the oldest it reaches, leads in b's view, with a higher token.
        let unreachableA = member(1, up: 1, reachable: false)
        #expect(OldestMemberRule.token(of: b.node, in: [unreachableA, b, c]) == FencingToken(2))
        // a cut off from both others: no majority, no leader.
        let cutOff = [a, member(2, up: 2, reachable: false), member(3, up: 3, reachable: false)]
        #expect(OldestMemberRule.token(of: a.node, in: cutOff) == nil)
        // Clients do not vote or lead; a downed or joining member does not count.
        let client = member(0, up: 0, role: .client)
        #expect(OldestMemberRule.token(of: a.node, in: [client, a, b, member(9, .down, up: 9, reachable: false)]) == FencingToken(1))
        #expect(OldestMemberRule.token(of: client.node, in: [client, a]) == nil)
        // A leaving oldest does not lead.
        #expect(OldestMemberRule.token(of: a.node, in: [member(1, .leaving, up: 1), b, c]) == nil)
        #expect(OldestMemberRule.token(of: b.node, in: [member(1, .leaving, up: 1), b, c]) == FencingToken(2))
    }

    @Test("a lease's leader renews a third of the way in and steps down a margin before it may expire")
    func leaseDeadline() {
        let start = ContinuousClock.now
        var deadline = LeaseDeadline(margin: .milliseconds(400))
        #expect(deadline.mustResign(at: start))
        deadline.renewed(sentAt: start, seconds: 2)
        #expect(deadline.resignAt == start + .milliseconds(1600))
        #expect(!deadline.mustResign(at: start + .milliseconds(1599)))
        #expect(deadline.mustResign(at: start + .milliseconds(1600)))
        #expect(deadline.nextRenewal(after: start) <= start + .milliseconds(667))
        // Late in the lease: renew no later than halfway to stepping down.
        #expect(deadline.nextRenewal(after: start + .milliseconds(1400)) == start + .milliseconds(1500))
        // A renewal sent later counts from when it was sent; an earlier answer never shortens it.
        deadline.renewed(sentAt: start + .seconds(1), seconds: 2)
        #expect(deadline.resignAt == start + .milliseconds(2600))
        deadline.renewed(sentAt: start + .milliseconds(500), seconds: 2)
        #expect(deadline.resignAt == start + .milliseconds(2600))
    }
}
