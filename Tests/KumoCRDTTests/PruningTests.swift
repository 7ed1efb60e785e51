@testable import Kumo
@testable import KumoCRDT
import PropertyBased
import Testing

/// Pruning a removed replica out of values: folding it into a live one changes nothing anyone
/// observes, stale copies are absorbed, and forgetting leaves no trace.
func checkPruning<Value: PrunableCRDT, Seen: Equatable>(
    _ type: Value.Type, sourceLocation: SourceLocation = #_sourceLocation,
    observe: @escaping @Sendable (Value) -> Seen,
    _ apply: @escaping @Sendable (Int, ReplicaID, inout Value) -> Value
) async {
    await propertyCheck(count: 200, input: Gen.int(in: -1000...1000).array(of: 0...30)) { operations in
        let scenario = Scenario<Value>(operations, apply: apply)
        let (a, b, c) = (scenario.states[0], scenario.states[1], scenario.states[2])
        let owner = scenario.replicas[0]
        let removed = scenario.replicas[2]
        // Collecting: the pruner has every live replica's value, and the removed one's.
        let everything = a.merging(b).merging(c)
        var folded = everything
        folded.fold(removed, into: owner)
        #expect(observe(folded) == observe(everything), "folding changes nothing observable", sourceLocation: sourceLocation)
        #expect(!folded.needsFolding(removed), sourceLocation: sourceLocation)
        // Folding: the others merge the pruner's change into what they had.
        let others = [b.merging(folded), c.merging(folded), folded.merging(a)]
        for other in others {
            #expect(observe(other) == observe(everything), "a stale copy is absorbed, not counted again", sourceLocation: sourceLocation)
            #expect(!other.needsFolding(removed), sourceLocation: sourceLocation)
        }
        #expect(folded.merging(b) == b.merging(folded), "merging stays commutative", sourceLocation: sourceLocation)
        #expect(folded.merging(folded) == folded, "and idempotent", sourceLocation: sourceLocation)
        // Done: each forgets; a stale copy that turns up later is stripped first.
        var forgotten = others[0]
        forgotten.forget(removed)
        #expect(!forgotten.mentions(removed), sourceLocation: sourceLocation)
        #expect(observe(forgotten) == observe(everything), sourceLocation: sourceLocation)
        var stale = c
        stale.forget(removed)
        #expect(observe(forgotten.merging(stale)) == observe(everything), "a stripped stale copy changes nothing", sourceLocation: sourceLocation)
    }
}

@Suite("Pruning removed replicas")
struct PruningTests {
    @Test("GCounter") func gCounter() async {
        await checkPruning(GCounter.self, observe: \.value) { n, replica, state in
            state.increment(by: UInt64(abs(n) % 10), at: replica)
        }
    }

    @Test("PNCounter") func pnCounter() async {
        await checkPruning(PNCounter.self, observe: \.value) { n, replica, state in state.increment(by: Int64(n % 10), at: replica) }
    }

    @Test("ORSet") func orSet() async {
        await checkPruning(ORSet<Int>.self, observe: \.elements) { n, replica, state in
            abs(n) % 5 == 0 ? state.remove(abs(n) % 4) : state.insert(abs(n) % 4, at: replica)
        }
    }

    @Test("MVRegister") func mv() async {
        await checkPruning(MVRegister<Int>.self, observe: { Set($0.values) }) { n, replica, state in
            state.assign(n % 4, at: replica)
        }
    }

    @Test("ORMap of PNCounters") func orMap() async {
        await checkPruning(ORMap<String, PNCounter>.self, observe: { map in map.keys.reduce(into: [String: Int64]()) { $0[$1] = map[$1]?.value } }) {
            n, replica, state in
            let key = ["apples", "pears", "plums"][abs(n) % 3]
            if abs(n) % 4 == 0 { return state.remove(key) }
            return state.update(key, at: replica) { $0.increment(by: Int64(n % 5), at: replica) }
        }
    }

    @Test("a folded counter survives the wire with its mark; an old one without marks still decodes")
    func coding() throws {
        var counter = GCounter()
        counter.increment(by: 4, at: ReplicaID(rawValue: 7))
        counter.increment(by: 2, at: ReplicaID(rawValue: 1))
        let plain = try BinaryEncoder().encode(counter)
        #expect(try BinaryDecoder().decode(GCounter.self, from: plain) == counter)
        counter.fold(ReplicaID(rawValue: 7), into: ReplicaID(rawValue: 1))
        let decoded = try BinaryDecoder().decode(GCounter.self, from: try BinaryEncoder().encode(counter))
        #expect(decoded == counter && decoded.folded == [ReplicaID(rawValue: 7)] && decoded.value == 6)
    }
}

/// The pruning protocol alone: three live nodes and a removed one, ledgers passed by hand.
@Suite("Pruning protocol")
struct PrunerTests {
    func node(_ port: Int) -> NodeID { NodeID(address: NodeAddress(host: "127.0.0.1", port: port), incarnation: 1) }

    /// Runs `rounds` rounds in which every pruner steps, does what it is told, and every ledger
    /// is merged into every other; returns the actions each took.
    /// Only the `active` nodes (all live ones by default) take part.
    func run(_ pruners: inout [Pruner], live: Set<NodeID>, active: Set<NodeID>? = nil, rounds: Int) -> [[Pruner.Action]] {
        let active = active ?? live
        var taken = Array(repeating: [Pruner.Action](), count: pruners.count)
        for _ in 0..<rounds {
            for index in pruners.indices where active.contains(pruners[index].me) {
                for action in pruners[index].step(live: live) {
                    taken[index].append(action)
                    switch action {
                    case .report(let replica, let epoch): pruners[index].reported(replica, epoch: epoch)
                    case .fold(let replica, let epoch): pruners[index].folded(replica, epoch: epoch)
                    case .forget(let replica): pruners[index].forgot(replica)
                    }
                }
            }
            for index in pruners.indices where active.contains(pruners[index].me) {
                for other in pruners.indices where other != index && active.contains(pruners[other].me) {
                    _ = pruners[index].ledger.mergeGossip(pruners[other].ledger, from: pruners[other].me)
                }
            }
        }
        return taken
    }

    @Test("the lowest live node coordinates; every node reports, folds and forgets, once each, in that order")
    func phases() {
        let gone = node(9)
        var pruners = [node(1), node(2), node(3)].map { Pruner(me: $0) }
        for index in pruners.indices { pruners[index].nodeRemoved(gone) }
        let live = Set(pruners.map(\.me))
        let taken = run(&pruners, live: live, rounds: 8)
        let replica = ReplicaID(gone)
        for actions in taken {
            #expect(actions == [.report(replica, epoch: 0), .fold(replica, epoch: 0), .forget(replica)])
        }
        #expect(pruners.allSatisfy { $0.ledger[replica]?.phase == .done && $0.forgotten == [replica] })
        #expect(pruners.allSatisfy { $0.ledger[replica]?.coordinator == node(1) })
    }

    @Test("a phase waits for every live node; a coordinator that dies is replaced in a new epoch")
    func takeover() {
        let gone = node(9)
        let replica = ReplicaID(gone)
        var pruners = [node(1), node(2), node(3)].map { Pruner(me: $0) }
        pruners[0].nodeRemoved(gone)
        // Node 3 is a member but cut off: nothing gets past collecting.
        _ = run(&pruners, live: [node(1), node(2), node(3)], active: [node(1), node(2)], rounds: 4)
        #expect(pruners[0].ledger[replica]?.phase == .collecting && pruners[1].ledger[replica]?.phase == .collecting)
        // The coordinator dies; node 2 takes over, and with node 3 back, pruning finishes.
        let taken = run(&pruners, live: [node(2), node(3)], rounds: 8)
        #expect(pruners[1].ledger[replica]?.coordinator == node(2) && pruners[1].ledger[replica]?.epoch == 1)
        #expect(pruners[1].ledger[replica]?.phase == .done && pruners[2].forgotten == [replica])
        #expect(taken[2].contains(.report(replica, epoch: 1)) && taken[2].last == .forget(replica))
    }

    @Test("ledgers merge by epoch, then phase, then seen")
    func ledgerMerge() {
        let replica = ReplicaID(rawValue: 5)
        var a = PruningLedger()
        var b = PruningLedger()
        a[replica] = .init(node: node(9), epoch: 0, coordinator: node(1), phase: .collecting, seen: [node(1)])
        b[replica] = .init(node: node(9), epoch: 0, coordinator: node(1), phase: .collecting, seen: [node(2)])
        var ab = a
        _ = ab.mergeGossip(b, from: node(2))
        var ba = b
        _ = ba.mergeGossip(a, from: node(1))
        #expect(ab == ba && ab[replica]?.seen == [node(1), node(2)] && ab.gossipDigest == ba.gossipDigest)
        b[replica] = .init(node: node(9), epoch: 0, coordinator: node(1), phase: .folding, seen: [])
        let advanced = ab.mergeGossip(b, from: node(2))
        #expect(advanced && ab[replica]?.phase == .folding && ab[replica]?.seen == [])
        let unchanged = !ab.mergeGossip(a, from: node(1))
        #expect(unchanged, "an earlier phase changes nothing")
    }
}
