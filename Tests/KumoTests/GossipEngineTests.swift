@testable import Kumo
import KumoCore
import Testing

/// The gossip logic alone: rounds, peer choice and agreement, with made-up instants.
@Suite("Gossip engine, with a virtual clock")
struct GossipEngineTests {
    let start = ContinuousClock.now
    let interval = Duration.milliseconds(300)

    func node(_ port: Int) -> NodeID {
        NodeID(address: NodeAddress(host: "127.0.0.1", port: port), incarnation: 1)
    }

    func engine(_ port: Int, peers: [Int] = [], unreachable: [Int] = [], seed: UInt64 = 1) -> GossipEngine {
        var engine = GossipEngine(me: node(port), settings: .init(interval: interval), now: start, seed: seed)
        for peer in peers { engine.setPeer(node(peer), reachable: true) }
        for peer in unreachable { engine.setPeer(node(peer), reachable: false) }
        return engine
    }

    @Test("a round is due one jittered interval after the last, and not before")
    func schedule() {
        var gossip = engine(1, peers: [2, 3])
        var now = start
        var rounds = 0
        for _ in 0..<200 {
            let due = gossip.nextRound
            #expect(due - now >= interval * 0.8 && due - now <= interval * 1.2)
            #expect(gossip.round(at: due - .milliseconds(1), digest: 0).isEmpty, "a round before it is due")
            #expect(gossip.round(at: due, digest: 0).count == 1)
            rounds += 1
            now = due
        }
        #expect(gossip.exchangesStarted == UInt64(rounds))
    }

    @Test("a round goes to reachable peers, and one in ten to an unreachable one")
    func peerChoice() {
        var gossip = engine(1, peers: Array(2...11), unreachable: [99])
        var toUnreachable = 0
        for _ in 0..<2000 {
            let targets = gossip.round(at: gossip.nextRound, digest: 0)
            #expect(targets.count == 1)
            if targets.first?.peer == node(99) { toUnreachable += 1 }
        }
        #expect((100...300).contains(toUnreachable), "about one round in ten, got \(toUnreachable) of 2000")

        var alone = engine(1, unreachable: [5])
        #expect(alone.round(at: alone.nextRound, digest: 0).map(\.peer) == [node(5)], "with nobody reachable, an unreachable peer")
        var nobody = engine(1)
        #expect(nobody.round(at: nobody.nextRound, digest: 0).isEmpty)
    }

    @Test("fanout picks that many distinct peers; a removed peer is never picked")
    func fanout() {
        var gossip = engine(1, peers: [2, 3, 4, 5])
        gossip.settings.fanout = 3
        gossip.removePeer(node(5))
        for _ in 0..<100 {
            let peers = gossip.round(at: gossip.nextRound, digest: 0).map(\.peer)
            #expect(peers.count == 3 && Set(peers).count == 3 && !peers.contains(node(5)) && !peers.contains(node(1)))
        }
    }

    /// Two membership views that gossip until they agree, then only send digests; news from
    /// either side makes the next exchange carry views again.
    @Test("exchanges carry whole views until the sides agree, then digests only, until something changes")
    func agreement() {
        var a = engine(1, peers: [2]), b = engine(2, peers: [1], seed: 2)
        var viewA = Membership(), viewB = Membership()
        viewA.update(Member(node: node(1), name: "a", status: .up, upNumber: 1))
        viewB.update(Member(node: node(2), name: "b", status: .up, upNumber: 2))

        func exchange() -> (sent: Bool, answered: Bool) {
            guard let out = a.round(at: a.nextRound, viewA).first else { return (false, false) }
            let (answer, _) = b.receive(out.envelope, from: node(1), into: &viewB)
            _ = a.receiveReply(answer, from: node(2), into: &viewA)
            return (out.envelope.message != nil, answer.message != nil)
        }

        #expect(exchange() == (true, true), "first exchange: views both ways")
        #expect(viewA == viewB && viewA.digest == viewB.digest)
        #expect(exchange() == (false, false), "agreed: digests only")
        #expect(exchange() == (false, false))

        viewA.update(Member(node: node(3), name: "c", status: .joining))
        #expect(exchange() == (true, false), "A's news goes out whole; B, now equal, answers with its digest")
        #expect(viewB[node(3)] != nil)

        viewB.update(Member(node: node(3), name: "c", status: .up, upNumber: 3))
        #expect(exchange() == (false, true), "A sends a bare digest; B, which differs, answers whole")
        #expect(viewA == viewB)
        #expect(exchange() == (false, false))
    }

    @Test("a failed exchange forgets the agreement with that peer")
    func failure() {
        var a = engine(1, peers: [2])
        a.replied(from: node(2), theirs: 42, digest: 42)
        #expect(a.round(at: a.nextRound, digest: 42).first?.sendsState == false)
        a.exchangeFailed(with: node(2))
        a.replied(from: node(2), theirs: 41, digest: 43)
        #expect(a.round(at: a.nextRound, digest: 43).first?.sendsState == true)
    }

    @Test("the probe walk reaches a member that joined in the middle of it")
    func probeOrder() {
        var order = ProbeOrder()
        var random = SplitMix64(seed: 3)
        let members = (2...200).map(node)
        var probed: [NodeID] = []
        probed.append(order.next(isAlive: { _ in true }, members: { members }, using: &random)!)
        order.insert(node(500), using: &random)
        for _ in 0..<members.count {
            if let next = order.next(isAlive: { _ in true }, members: { members }, using: &random) { probed.append(next) }
        }
        #expect(probed.count == members.count + 1)
        #expect(Set(probed) == Set(members + [node(500)]), "within the walk that was under way")
    }
}
