import Distributed
import Kumo
import KumoCRDT

/// The part of the `crdt` scenario every node runs: it makes its share of the updates when told,
/// and reports the values it sees.
distributed actor CRDTBenchAgent {
    typealias ActorSystem = ClusterSystem

    /// Makes `updates` updates of the shared counter (`phase` 0) or adds `updates` elements to the
    /// shared set (`phase` 1), starting at `offset`; returns the nanoseconds it took.
    distributed func run(updates: Int, phase: Int, offset: Int) async throws -> UInt64 {
        try await runCRDTUpdates(on: actorSystem, updates: updates, phase: phase, offset: offset)
    }

    /// The counter's value and the set's size here.
    distributed func values() async throws -> [Int64] {
        try await crdtValues(on: actorSystem)
    }

    /// How many keys this node holds.
    distributed func keyCount() async -> Int {
        await Replication.keyCount(of: actorSystem)
    }

    /// How many nodes this node replicates to.
    distributed func replicaPeers() async -> Int {
        await Replication.peers(of: actorSystem).count
    }
}

/// The replication plugin of every node of the `crdt` scenarios.
func benchReplication() -> Replication {
    Replication(types: [ORSet<Int>.self], gossipInterval: .milliseconds(50), antiEntropyInterval: .seconds(1))
}

func runCRDTUpdates(on system: ClusterSystem, updates: Int, phase: Int, offset: Int) async throws -> UInt64 {
    let start = nowNanoseconds()
    if phase == 0 {
        let counter = try system.replicated(PNCounter.self, key: "bench.counter")
        for _ in 0..<updates { try await counter.update { $0.increment() } }
    } else {
        let set = try system.replicated(ORSet<Int>.self, key: "bench.set")
        for value in offset..<(offset + updates) { try await set.update { $0.insert(value) } }
    }
    return nowNanoseconds() - start
}

func crdtValues(on system: ClusterSystem) async throws -> [Int64] {
    let counter = try system.replicated(PNCounter.self, key: "bench.counter")
    let set = try system.replicated(ORSet<Int>.self, key: "bench.set")
    return [await counter.value.value, Int64(await set.value.count)]
}
