@testable import Kumo
import KumoCore
import PropertyBased
import Testing

/// ``Membership`` and ``Registry`` alone: their merges are joins, and their digests follow them.
@Suite("Membership and registry values")
struct MembershipValueTests {
    static func node(_ index: Int, incarnation: Int) -> NodeID {
        NodeID(address: NodeAddress(host: "127.0.0.1", port: 7000 + index), incarnation: UInt64(incarnation))
    }

    /// Three views built from numbers: each number is one member's news (which node, which
    /// incarnation, which status, which up number), given to one of the views.
    static func views(_ numbers: [Int]) -> [Membership] {
        var views = [Membership(), Membership(), Membership()]
        for number in numbers {
            let value = abs(number)
            let member = Member(
                node: node(value % 4, incarnation: 1 + (value / 4) % 2), name: "n\(value % 4)",
                status: MemberStatus(rawValue: UInt8((value / 8) % 5)) ?? .up, upNumber: UInt64((value / 40) % 4))
            views[(value / 160) % 3].update(member)
        }
        return views
    }

    static func merged(_ a: Membership, _ b: Membership) -> Membership {
        var result = a
        result.merge(b)
        return result
    }

    @Test("merging views is commutative, associative and idempotent; the digest follows the members")
    func mergeLaws() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...10_000).array(of: 0...24)) { numbers in
            let views = Self.views(numbers)
            let (a, b, c) = (views[0], views[1], views[2])
            #expect(Self.merged(a, b) == Self.merged(b, a))
            #expect(Self.merged(Self.merged(a, b), c) == Self.merged(a, Self.merged(b, c)))
            #expect(Self.merged(a, a) == a)
            let all = Self.merged(Self.merged(a, b), c)
            #expect(Self.merged(b, a).digest == Self.merged(a, b).digest, "equal views, equal digests")
            // The kept digest is the one computed afresh.
            let rebuilt = all.removing { _ in false }
            #expect(rebuilt == all && rebuilt.digest == all.digest)
            // At most one incarnation per address is alive.
            let alive = all.alive.map(\.node.address)
            #expect(Set(alive).count == alive.count)
        }
    }

    @Test("a newer incarnation downs the older one, in either order")
    func incarnations() {
        let old = Member(node: Self.node(1, incarnation: 1), name: "a", status: .up, upNumber: 1)
        let new = Member(node: Self.node(1, incarnation: 2), name: "a", status: .joining)
        var first = Membership()
        first.update(old)
        first.update(new)
        var second = Membership()
        second.update(new)
        second.update(old)
        #expect(first == second)
        #expect(first[old.node]?.status == .down && first[new.node]?.status == .joining)
    }

    @Test("a view survives the wire with its digest, and pruning takes members out of it")
    func codingAndPruning() throws {
        var view = Membership()
        for index in 0..<5 { view.update(Member(node: Self.node(index, incarnation: 1), name: "n", status: .up, upNumber: UInt64(index + 1))) }
        view.mark(Self.node(2, incarnation: 1), .unreachable)
        let decoded = try BinaryDecoder().decode(Membership.self, from: try BinaryEncoder().encode(view))
        #expect(decoded == view && decoded.digest == view.digest)
        var pruned = view
        pruned.prune([Self.node(3, incarnation: 1)])
        #expect(pruned == view, "an up member is not pruned")
        var down = view[Self.node(3, incarnation: 1)]!
        down.status = .down
        pruned.update(down)
        pruned.prune([Self.node(3, incarnation: 1)])
        #expect(pruned[Self.node(3, incarnation: 1)] == nil)
        #expect(pruned.digest == pruned.removing { _ in false }.digest)
    }

    @Test("a seed admits a joiner as up and youngest")
    func admission() {
        var view = Membership()
        view.update(Member(node: Self.node(0, incarnation: 1), name: "seed", status: .up, upNumber: 1))
        view.admit(Member(node: Self.node(1, incarnation: 1), name: "j", status: .joining))
        #expect(view[Self.node(1, incarnation: 1)]?.status == .up)
        #expect(view[Self.node(1, incarnation: 1)]?.upNumber == 2)
    }

    @Test("registries merge by each node's version; the registry's gossip never takes this node's entries or a non-member's")
    func registry() {
        let me = Self.node(0, incarnation: 1), other = Self.node(1, incarnation: 1), stranger = Self.node(2, incarnation: 1)
        var mine = RegistryGossip(me: me)
        _ = mine.members.apply(.statusChanged(Member(node: other, name: "o", status: .up), previous: nil))
        mine.registry.register(ActorID(node: me, path: .name("mine")), key: "k")

        var theirs = Registry()
        theirs.register(ActorID(node: other, path: .name("a")), key: "k")
        theirs.register(ActorID(node: other, path: .name("b")), key: "k")
        theirs.register(ActorID(node: me, path: .name("forged")), key: "k")
        theirs.register(ActorID(node: me, path: .name("forged2")), key: "k")
        theirs.register(ActorID(node: stranger, path: .name("s")), key: "k")
        let changed = mine.mergeGossip(theirs, from: other)
        #expect(changed == ["k"])
        #expect(Set(mine.registry.actors(for: "k").map(\.path.description)) == ["mine", "a", "b"])

        var older = Registry()
        older.register(ActorID(node: other, path: .name("a")), key: "k")
        #expect(mine.mergeGossip(older, from: other).isEmpty, "an older version changes nothing")

        var rebuilt = Registry()
        _ = rebuilt.merge(mine.registry) { _ in true }
        #expect(rebuilt.digest == mine.registry.digest)
        let removed = mine.registry.removeNode(other)
        #expect(removed)
        #expect(mine.registry.digest != rebuilt.digest)
    }
}
