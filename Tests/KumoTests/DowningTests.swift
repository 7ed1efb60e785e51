@testable import Kumo
import KumoCore
import Testing

/// The downing rules alone, with made-up members and instants.
@Suite("Downing decisions")
struct DowningTests {
    let start = ContinuousClock.now
    let timeout = Duration.seconds(4)

    func node(_ port: Int) -> NodeID {
        NodeID(address: NodeAddress(host: "127.0.0.1", port: port), incarnation: UInt64(port))
    }

    /// A membership of up members: (port, up number, role, reachable from here).
    func view(_ members: [(Int, UInt64, NodeRole, Bool)]) -> Membership {
        var membership = Membership()
        for (port, upNumber, role, reachable) in members {
            membership.update(Member(node: node(port), name: "n\(port)", status: .up, role: role, upNumber: upNumber))
            if !reachable { membership.mark(node(port), .unreachable) }
        }
        return membership
    }

    func downing(me port: Int, unreachable: [Int], strategy: DowningStrategy? = nil) -> Downing {
        var downing = Downing(strategy: strategy ?? .keepMajority(after: timeout), me: node(port))
        for other in unreachable { downing.unreachable(node(other), at: start) }
        return downing
    }

    @Test("the long-lived member of two survives the crash of a younger one, whatever the ports")
    func oldestWinsTheTie() {
        for (old, young) in [(61000, 20001), (20001, 61000)] {
            let membership = view([(old, 1, .member, true), (young, 2, .member, false)])
            let decider = downing(me: old, unreachable: [young])
            #expect(decider.decide(membership, now: start + timeout) == .down([node(young)]))
            #expect(decider.side(of: membership) == .majority)
        }
    }

    @Test("the younger of two, cut off from the oldest, downs itself")
    func youngerLosesTheTie() {
        let membership = view([(61000, 1, .member, false), (20001, 2, .member, true)])
        let decider = downing(me: 20001, unreachable: [61000])
        guard case .downSelf = decider.decide(membership, now: start + timeout) else {
            Issue.record("the younger node did not down itself")
            return
        }
    }

    @Test("a pause of this node itself restarts the clocks: the timeout counts only time it ran")
    func localPause() {
        let membership = view([(7001, 1, .member, true), (7002, 2, .member, false)])
        var decider = downing(me: 7001, unreachable: [7002])
        // Held up for 3 s, one second after 7002 became unreachable: it resumes at start + 4 s.
        #expect(Downing.isLocalPause(requested: .milliseconds(200), actual: .milliseconds(3200), probeInterval: .milliseconds(200)))
        #expect(!Downing.isLocalPause(requested: .milliseconds(500), actual: .milliseconds(1400), probeInterval: .milliseconds(500)))
        decider.pausedLocally(at: start + timeout)
        #expect(decider.decide(membership, now: start + timeout) == .wait)
        #expect(decider.decide(membership, now: start + timeout * 2 - .milliseconds(1)) == .wait)
        #expect(decider.decide(membership, now: start + timeout * 2) == .down([node(7002)]))
    }

    @Test("nothing is decided before the timeout")
    func waitsForTheTimeout() {
        let membership = view([(7001, 1, .member, true), (7002, 2, .member, false)])
        #expect(downing(me: 7001, unreachable: [7002]).decide(membership, now: start + timeout - .milliseconds(1)) == .wait)
    }

    @Test("a 2/2 partition of four members leaves exactly the side of the oldest up")
    func evenSplit() {
        let ports = [7004, 7003, 7002, 7001]  // the oldest has the highest port
        func side(_ me: Int, reaches: Set<Int>) -> Downing.Decision {
            let members = ports.enumerated().map { index, port in
                (port, UInt64(index + 1), NodeRole.member, reaches.contains(port) || port == me)
            }
            return downing(me: me, unreachable: ports.filter { !reaches.contains($0) && $0 != me })
                .decide(view(members), now: start + timeout)
        }
        #expect(side(7004, reaches: [7003]) == .down([node(7001), node(7002)]))
        #expect(side(7003, reaches: [7004]) == .down([node(7001), node(7002)]))
        for me in [7002, 7001] {
            guard case .downSelf = side(me, reaches: [7002, 7001]) else {
                Issue.record("node \(me) on the side without the oldest stayed up")
                continue
            }
        }
    }

    @Test("a minority downs itself; the majority downs it")
    func minority() {
        let members: [(Int, UInt64, NodeRole, Bool)] = [(7001, 1, .member, true), (7002, 2, .member, true), (7003, 3, .member, false)]
        #expect(downing(me: 7001, unreachable: [7003]).decide(view(members), now: start + timeout) == .down([node(7003)]))
        let isolated = view([(7001, 1, .member, false), (7002, 2, .member, false), (7003, 3, .member, true)])
        guard case .downSelf = downing(me: 7003, unreachable: [7001, 7002]).decide(isolated, now: start + timeout) else {
            Issue.record("the isolated node stayed up")
            return
        }
    }

    @Test("clients do not count: a crashed client is downed, and a lone member with clients is a majority")
    func clientsDoNotVote() {
        // One member, two clients, both clients unreachable: the member is the whole vote.
        let members = view([(7003, 3, .member, true), (7001, 1, .client, false), (7002, 2, .client, false)])
        #expect(downing(me: 7003, unreachable: [7001, 7002]).decide(members, now: start + timeout) == .down([node(7001), node(7002)]))
        #expect(Downing.voters(of: members).map(\.node) == [node(7003)])
    }

    @Test("a client downs nobody but itself")
    func clientDownsOnlyItself() {
        // The client reaches one of two members: a tie that holds the oldest, yet it downs nobody.
        let tie = view([(7001, 1, .member, true), (7002, 2, .member, false), (7009, 3, .client, true)])
        #expect(downing(me: 7009, unreachable: [7002]).decide(tie, now: start + timeout) == .wait)
        // Cut off from every member: it downs itself, under either strategy.
        let alone = view([(7001, 1, .member, false), (7002, 2, .member, false), (7009, 3, .client, true)])
        for strategy in [DowningStrategy.keepMajority(after: timeout), .timeout(timeout)] {
            guard case .downSelf = downing(me: 7009, unreachable: [7001, 7002], strategy: strategy)
                .decide(alone, now: start + timeout)
            else {
                Issue.record("a client cut off from every member stayed up under \(strategy)")
                continue
            }
        }
        #expect(downing(me: 7009, unreachable: [7002], strategy: .timeout(timeout)).decide(tie, now: start + timeout) == .wait)
    }

    @Test("members not yet up do not vote")
    func joiningDoesNotVote() {
        var membership = view([(7001, 1, .member, true), (7002, 2, .member, false)])
        membership.update(Member(node: node(7003), name: "joiner", status: .joining))
        #expect(Downing.voters(of: membership).count == 2)
        #expect(downing(me: 7001, unreachable: [7002]).decide(membership, now: start + timeout) == .down([node(7002)]))
    }

    @Test("manual downing decides nothing; timeout downing downs whoever is due")
    func otherStrategies() {
        let membership = view([(7001, 1, .member, false), (7002, 2, .member, true)])
        #expect(downing(me: 7002, unreachable: [7001], strategy: .manual).decide(membership, now: start + timeout * 10) == .wait)
        #expect(downing(me: 7002, unreachable: [7001], strategy: .timeout(timeout)).decide(membership, now: start + timeout) == .down([node(7001)]))
    }

    @Test("up numbers merge by their minimum and order members by age, then identity")
    func upNumbers() {
        var membership = Membership()
        membership.update(Member(node: node(7002), name: "b", status: .up, upNumber: 5))
        membership.update(Member(node: node(7002), name: "b", status: .up, upNumber: 3))
        membership.update(Member(node: node(7002), name: "b", status: .up, upNumber: 0))
        membership.update(Member(node: node(7002), name: "b", status: .up, upNumber: 4))
        #expect(membership[node(7002)]?.upNumber == 3)
        #expect(membership.highestUpNumber == 3)
        let old = Member(node: node(9000), name: "old", status: .up, upNumber: 1)
        let young = Member(node: node(1000), name: "young", status: .up, upNumber: 2)
        let joining = Member(node: node(1), name: "joining", status: .joining)
        #expect(old.isOlder(than: young) && !young.isOlder(than: old))
        #expect(young.isOlder(than: joining))
        let twin = Member(node: node(8000), name: "twin", status: .up, upNumber: 1)
        #expect(twin.isOlder(than: old))
    }
}
