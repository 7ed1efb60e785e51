@testable import KumoCRDT
import PropertyBased
import Testing

/// Three replicas, each making its own changes (and sometimes merging another's), drawn from a
/// list of numbers: each number picks an operation and its argument.
struct Scenario<Value: CRDT> {
    let replicas = [ReplicaID(rawValue: 1), ReplicaID(rawValue: 2), ReplicaID(rawValue: 3)]
    /// Each replica's state after the scenario.
    var states: [Value]
    /// The deltas each replica produced, in order.
    var deltas: [[Value]]

    /// Runs `operations` (a number each) against three replicas with `apply(number, replica,
    /// &state) -> delta`; every seventh number makes a replica merge another's state instead.
    init(_ operations: [Int], apply: (Int, ReplicaID, inout Value) -> Value) {
        states = Array(repeating: Value(), count: 3)
        deltas = Array(repeating: [], count: 3)
        for (step, number) in operations.enumerated() {
            let index = abs(number) % 3
            if number % 7 == 0, step > 0 {
                states[index].merge(states[(index + 1) % 3])
                continue
            }
            deltas[index].append(apply(number / 3, replicas[index], &states[index]))
        }
    }
}

/// Checks the lattice laws and delta equivalence for a CRDT, on scenarios drawn from numbers.
func checkLaws<Value: CRDT>(
    _ type: Value.Type, sourceLocation: SourceLocation = #_sourceLocation,
    _ apply: @escaping @Sendable (Int, ReplicaID, inout Value) -> Value
) async {
    await propertyCheck(count: 200, input: Gen.int(in: -1000...1000).array(of: 0...30)) { operations in
        let scenario = Scenario<Value>(operations, apply: apply)
        let (a, b, c) = (scenario.states[0], scenario.states[1], scenario.states[2])
        #expect(a.merging(b) == b.merging(a), "merge is commutative", sourceLocation: sourceLocation)
        #expect(a.merging(b).merging(c) == a.merging(b.merging(c)), "merge is associative", sourceLocation: sourceLocation)
        #expect(a.merging(a) == a, "merge is idempotent", sourceLocation: sourceLocation)
        #expect(a.merging(Value()) == a, "the bottom changes nothing", sourceLocation: sourceLocation)
        // A replica that merges every delta, in any order, has what the full states have.
        let everything = a.merging(b).merging(c)
        var fromDeltas = Value()
        for delta in scenario.deltas.joined().reversed() { fromDeltas.merge(delta) }
        #expect(fromDeltas == everything, "the deltas add up to the states", sourceLocation: sourceLocation)
    }
}

@Suite("CRDT merge laws, property-tested")
struct MergeLawTests {
    @Test("GCounter") func gCounter() async {
        await checkLaws(GCounter.self) { n, replica, state in state.increment(by: UInt64(abs(n) % 10), at: replica) }
    }

    @Test("PNCounter") func pnCounter() async {
        await checkLaws(PNCounter.self) { n, replica, state in state.increment(by: Int64(n % 10), at: replica) }
    }

    @Test("Flag") func flag() async {
        await checkLaws(Flag.self) { n, _, state in n % 5 == 0 ? state.enable() : Flag() }
    }

    @Test("LWWRegister") func lww() async {
        await checkLaws(LWWRegister<Int>.self) { n, replica, state in
            state.assign(n, at: replica, now: UInt64(abs(n) % 50))
        }
    }

    @Test("MVRegister") func mv() async {
        await checkLaws(MVRegister<Int>.self) { n, replica, state in state.assign(n % 4, at: replica) }
    }

    @Test("ORSet") func orSet() async {
        await checkLaws(ORSet<Int>.self) { n, replica, state in
            switch abs(n) % 5 {
            case 0: state.remove(abs(n) % 4)
            case 1 where abs(n) % 13 == 0: state.removeAll()
            default: state.insert(abs(n) % 4, at: replica)
            }
        }
    }

    @Test("ORMap of PNCounters") func orMap() async {
        await checkLaws(ORMap<String, PNCounter>.self) { n, replica, state in
            let key = ["apples", "pears", "plums"][abs(n) % 3]
            if abs(n) % 4 == 0 { return state.remove(key) }
            return state.update(key, at: replica) { $0.increment(by: Int64(n % 5), at: replica) }
        }
    }

    @Test("ORMap of ORSets") func orMapOfSets() async {
        await checkLaws(ORMap<Int, ORSet<Int>>.self) { n, replica, state in
            if abs(n) % 5 == 0 { return state.remove(abs(n) % 2) }
            return state.update(abs(n) % 2, at: replica) { set in
                if n % 3 == 0 { set.remove(abs(n) % 3) } else { set.insert(abs(n) % 3, at: replica) }
            }
        }
    }
}

@Suite("CRDT semantics")
struct CRDTSemanticsTests {
    let a = ReplicaID(rawValue: 1)
    let b = ReplicaID(rawValue: 2)

    @Test("counters count every replica's changes")
    func counters() {
        var x = PNCounter()
        var y = PNCounter()
        x.increment(by: 5, at: a)
        y.decrement(by: 2, at: b)
        y.increment(at: b)
        #expect(x.merging(y).value == 4)
        var g = GCounter()
        g.increment(by: 3, at: a)
        #expect(g.merging(g).value == 3)
    }

    @Test("an ORSet add wins over a concurrent remove; a seen add is removed")
    func addWins() {
        var x = ORSet<String>()
        x.insert("milk", at: a)
        var y = x
        y.remove("milk")
        x.insert("milk", at: a)   // concurrent with y's remove
        #expect(x.merging(y).contains("milk"))
        var z = x
        z.remove("milk")
        #expect(!x.merging(z).contains("milk"))
    }

    @Test("an MVRegister keeps concurrent writes until a write that saw them")
    func multiValue() {
        var x = MVRegister<String>()
        var y = MVRegister<String>()
        x.assign("red", at: a)
        y.assign("blue", at: b)
        var both = x.merging(y)
        #expect(Set(both.values) == ["red", "blue"])
        both.assign("green", at: a)
        #expect(both.merging(x).merging(y).values == ["green"])
    }

    @Test("an LWWRegister's later write wins, and a replica's next write beats a clock that runs ahead")
    func lastWriterWins() {
        var x = LWWRegister<String>()
        var y = LWWRegister<String>()
        x.assign("early", at: a, now: 100)
        y.assign("late", at: b, now: 200)
        var merged = x.merging(y)
        #expect(merged.value == "late")
        merged.assign("after", at: a, now: 50)   // a's clock is behind; its write still follows
        #expect(merged.merging(y).value == "after")
    }

    @Test("an ORMap merges concurrent updates of a key; an update wins over a concurrent remove")
    func map() {
        var x = ORMap<String, PNCounter>()
        x.update("apples", at: a) { $0.increment(by: 2, at: a) }
        var y = x
        y.update("apples", at: b) { $0.increment(by: 3, at: b) }
        x.update("apples", at: a) { $0.increment(by: 1, at: a) }
        #expect(x.merging(y)["apples"]?.value == 6)
        var removed = x
        removed.remove("apples")
        y.update("apples", at: b) { $0.increment(at: b) }   // concurrent with the remove
        #expect(removed.merging(y)["apples"] != nil)
        // Removed and added again: it starts over.
        removed.update("apples", at: a) { $0.increment(at: a) }
        #expect(removed.merging(x)["apples"]?.value == 1)
    }

    @Test("a causal context stays compact: out-of-order dots join the vector once the gap fills")
    func context() {
        var context = CausalContext()
        context.insert(Dot(a, 2))
        #expect(context.cloud == [Dot(a, 2)])
        context.insert(Dot(a, 1))
        #expect(context.cloud.isEmpty)
        #expect(context.versions[a] == 2)
        #expect(context == CausalContext(dots: [Dot(a, 1), Dot(a, 2)]))
    }
}

@Suite("Causal contexts against a plain set of dots")
struct CausalContextModelTests {
    @Test("inserts, merges, contains and covers agree with a set of dots; equal sets give equal contexts")
    func model() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...400).array(of: 0...60)) { numbers in
            let replicas = [ReplicaID(rawValue: 1), ReplicaID(rawValue: 2)]
            var a = CausalContext()
            var b = CausalContext()
            var modelA: Set<Dot> = []
            var modelB: Set<Dot> = []
            for (step, number) in numbers.enumerated() {
                let dot = Dot(replicas[number % 2], UInt64(number / 2 % 40 + 1))
                if step % 2 == 0 {
                    a.insert(dot)
                    modelA.insert(dot)
                } else {
                    b.insert(dot)
                    modelB.insert(dot)
                }
            }
            for replica in replicas {
                for counter in UInt64(1)...42 {
                    let dot = Dot(replica, counter)
                    #expect(a.contains(dot) == modelA.contains(dot))
                }
            }
            #expect(a.covers(b) == modelB.isSubset(of: modelA))
            #expect(a == CausalContext(dots: modelA))
            var merged = a
            merged.merge(b)
            #expect(merged == CausalContext(dots: modelA.union(modelB)))
            #expect(merged.covers(a) && merged.covers(b))
            #expect(Set(merged.dots) == modelA.union(modelB))
        }
    }
}
