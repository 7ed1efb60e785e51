import Foundation
import Kumo
import KumoTestKit
import Testing

@testable import KumoCRDT

/// Starts `count` nodes in this process, each running ``Replication`` on a fast schedule, and
/// waits until every node replicates to all the others.
func withReplicatedCluster(
    _ count: Int, downAfter: Duration = .seconds(2), _ body: (TestCluster) async throws -> Void
) async throws {
    let cluster = try await TestCluster.start(nodes: count, downAfter: downAfter) { _, settings in
        settings.plugins.install(Replication(
            types: [ORSet<Int>.self, ORMap<String, PNCounter>.self], gossipInterval: .milliseconds(50),
            antiEntropyInterval: .milliseconds(300)))
    }
    do {
        try await cluster.waitForConvergence()
        for node in cluster.nodes {
            let replicator = try #require(Replication.replicator(of: node))
            try await eventually("every node replicates to the others") { await replicator.peers.count == count - 1 }
        }
        try await body(cluster)
        await cluster.shutdown()
    } catch {
        await cluster.shutdown()
        throw error
    }
}

/// Waits up to `timeout` for `condition`.
func eventually(
    _ what: String, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
}

@Suite(.serialized) enum ClusterTimingTests {}

extension ClusterTimingTests {
    @Suite("Replicated state on nodes in one process", .serialized, .timeLimit(.minutes(2)))
    struct ReplicationTests {
        @Test("three nodes incrementing one counter converge on one value (Cusinart's distributed counter)")
        func counter() async throws {
            try await withReplicatedCluster(3) { cluster in
                let handles = try cluster.nodes.map { try $0.replicated(PNCounter.self, key: "hits") }
                let changes = await handles[2].changes
                await withThrowingTaskGroup(of: Void.self) { group in
                    for handle in handles {
                        group.addTask { for _ in 0..<100 { try await handle.update { $0.increment() } } }
                    }
                }
                for handle in handles {
                    try await eventually("every replica counts 300") { await handle.value.value == 300 }
                }
                var seen: Int64 = 0
                for await value in changes {
                    seen = value.value
                    if seen == 300 { break }
                }
                #expect(seen == 300)
                try await handles[0].update { $0.decrement(by: 50) }
                try await eventually("the decrement spreads") { await handles[1].value.value == 250 }
            }
        }

        @Test("sets and maps from every node converge")
        func setsAndMaps() async throws {
            try await withReplicatedCluster(3) { cluster in
                for (index, node) in cluster.nodes.enumerated() {
                    let set = try node.replicated(ORSet<Int>.self, key: "seen")
                    try await set.update { for value in 0..<10 { $0.insert(index * 100 + value) } }
                    let cart = try node.replicated(ORMap<String, PNCounter>.self, key: "cart")
                    try await cart.update { $0.update("apples") { $0.increment(by: Int64(index + 1)) } }
                }
                try await cluster.nodes[0].replicated(ORSet<Int>.self, key: "seen").update { $0.remove(5) }
                for node in cluster.nodes {
                    let set = try node.replicated(ORSet<Int>.self, key: "seen")
                    let cart = try node.replicated(ORMap<String, PNCounter>.self, key: "cart")
                    try await eventually("sets converge") { await set.value.count == 29 }
                    try await eventually("carts converge") { await cart.value["apples"]?.value == 6 }
                    #expect(await !set.value.contains(5))
                }
            }
        }

        @Test("writes and reads at majority and all reach that many replicas before they return")
        func consistency() async throws {
            try await withReplicatedCluster(3) { cluster in
                let a = try cluster.nodes[0].replicated(GCounter.self, key: "strong")
                let b = try cluster.nodes[1].replicated(GCounter.self, key: "strong")
                let c = try cluster.nodes[2].replicated(GCounter.self, key: "strong")
                try await a.update(consistency: .all()) { $0.increment(by: 5) }
                // Applied everywhere before the write returned: no waiting for gossip.
                #expect(await b.value.value == 5)
                #expect(await c.value.value == 5)
                try await b.update(consistency: .majority()) { $0.increment(by: 2) }
                #expect(try await c.read(consistency: .majority()).value >= 5)
                #expect(try await a.read(consistency: .all()).value == 7)
            }
        }

        @Test("a write that cannot reach its level fails saying how many acknowledged; it converges after the heal")
        func partition() async throws {
            try await withReplicatedCluster(3, downAfter: .seconds(60)) { cluster in
                let a = try cluster.nodes[0].replicated(PNCounter.self, key: "split")
                let b = try cluster.nodes[1].replicated(PNCounter.self, key: "split")
                cluster.partition([0], from: [1, 2])
                do {
                    try await a.update(consistency: .all(timeout: .milliseconds(400))) { $0.increment(by: 1) }
                    Issue.record("a write at all succeeded across a partition")
                } catch let error as ReplicationError {
                    #expect(error.code == .consistencyNotReached)
                    #expect(error.acknowledged == 1)
                    #expect(error.needed == 3)
                }
                // Both sides keep accepting local updates.
                try await a.update { $0.increment(by: 10) }
                try await b.update { $0.increment(by: 100) }
                #expect(await a.value.value == 11)
                cluster.heal()
                for node in cluster.nodes {
                    let handle = try node.replicated(PNCounter.self, key: "split")
                    try await eventually("the sides converge after the heal", timeout: .seconds(20)) {
                        await handle.value.value == 111
                    }
                }
            }
        }

        @Test("a delta of an unknown type, or of another type than the key holds, is refused naming it")
        func badDeltas() async throws {
            try await withReplicatedCluster(2) { cluster in
                let counter = try cluster.nodes[1].replicated(PNCounter.self, key: "typed")
                try await counter.update { $0.increment() }
                let agent = try ReplicatorAgent.resolve(
                    id: .named(ReplicatorAgent.actorName, on: cluster.nodes[1].node), using: cluster.nodes[0])
                let unknown = DeltaItem(key: "typed", type: "Nowhere.Sketch", bytes: [1, 2, 3], dots: CausalContext())
                let rejected = try await agent.deliver(DeltaBatch(items: [unknown]))
                #expect(rejected.errors.first?.code == .unknownType)
                #expect(rejected.errors.first?.message.contains("Nowhere.Sketch") == true)
                let set = try encodeCRDT(ORSet<Int>())
                let mismatch = DeltaItem(key: "typed", type: CRDTType.name(of: ORSet<Int>.self), bytes: set, dots: CausalContext())
                let refused = try await agent.deliver(DeltaBatch(items: [mismatch]))
                #expect(refused.errors.first?.code == .typeMismatch)
                let garbage = DeltaItem(key: "other", type: CRDTType.name(of: PNCounter.self), bytes: [0xFF, 0xFF], dots: CausalContext())
                #expect(try await agent.deliver(DeltaBatch(items: [garbage])).errors.first?.code == .malformed)
                // The node still serves, and its value is untouched.
                #expect(await counter.value.value == 1)
                let wrong = try cluster.nodes[1].replicated(ORSet<Int>.self, key: "typed")
                await #expect(throws: ReplicationError.self) { try await wrong.update { $0.insert(1) } }
            }
        }
    }
}

extension ClusterTimingTests {
    @Suite("Replicated state on disk", .serialized, .timeLimit(.minutes(1)))
    struct DurableReplicationTests {
        @Test("a node restarted with its data directory resumes with its state and catches up")
        func restart() async throws {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("kumo-crdt-\(UInt64.random(in: 1...UInt64.max))").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            func settings(_ name: String, seed: ClusterSystem?) -> ClusterSettings {
                var settings = ClusterSettings(name: name, secret: "durable")
                settings.port = 0
                settings.logger.logLevel = .critical
                settings.membership = TestCluster.testMembership()
                if let seed { settings.seeds = [seed.node.address] }
                settings.plugins.install(Replication(
                    gossipInterval: .milliseconds(50), antiEntropyInterval: .milliseconds(300),
                    dataDirectory: name == "seed" ? nil : directory, snapshotInterval: .milliseconds(200)))
                return settings
            }
            let seed = try await ClusterSystem(settings: settings("seed", seed: nil))
            do {
                var durable = try await ClusterSystem(settings: settings("durable", seed: seed))
                let counter = try durable.replicated(PNCounter.self, key: "kept")
                let names = try durable.replicated(ORSet<String>.self, key: "names")
                try await counter.update { $0.increment(by: 5) }
                try await names.update { $0.insert("ada"); $0.insert("grace") }
                try await seed.replicated(PNCounter.self, key: "kept").update { $0.increment(by: 3) }
                try await eventually("the durable node has both nodes' changes") { await counter.value.value == 8 }
                // Some changes go to disk as deltas, some in a snapshot.
                try await Task.sleep(for: .milliseconds(300))
                try await names.update { $0.remove("grace") }
                await durable.shutdown()

                // While it is away, the cluster goes on.
                try await seed.replicated(PNCounter.self, key: "kept").update { $0.increment(by: 2) }

                // Alone, it has what it had: from the disk only.
                let alone = try await ClusterSystem(settings: settings("durable", seed: nil))
                #expect(await alone.members().count == 1)
                #expect(try await alone.replicated(PNCounter.self, key: "kept").value.value == 8)
                #expect(try await alone.replicated(ORSet<String>.self, key: "names").value.elements == ["ada"])
                await alone.shutdown()

                durable = try await ClusterSystem(settings: settings("durable", seed: seed))
                let restarted = try durable.replicated(PNCounter.self, key: "kept")
                #expect(await restarted.value.value >= 8)
                try await eventually("it catches up with the change made while it was away") { await restarted.value.value == 10 }
                await durable.shutdown()
            } catch {
                await seed.shutdown()
                throw error
            }
            await seed.shutdown()
        }
    }
}

extension ClusterTimingTests {
    @Suite("Partial replication", .serialized, .timeLimit(.minutes(1)))
    struct PartialReplicationTests {
        /// How many of `nodes` hold `key` (and have a value for it), and which.
        static func holders(_ key: String, on nodes: [ClusterSystem]) async -> [Int] {
            var holders: [Int] = []
            for (index, node) in nodes.enumerated() where await Replication.holds(key, on: node) { holders.append(index) }
            return holders
        }

        @Test("a key with replicas: 2 lives on two of four nodes; every node reads and changes it")
        func twoOfFour() async throws {
            try await withReplicatedCluster(4) { cluster in
                for node in cluster.nodes {
                    let counter = try node.replicated(PNCounter.self, key: "part", replicas: 2)
                    for _ in 0..<5 { try await counter.update { $0.increment() } }
                }
                try await eventually("two nodes hold the key") {
                    await Self.holders("part", on: cluster.nodes).count == 2
                }
                for node in cluster.nodes {
                    let counter = try node.replicated(PNCounter.self, key: "part", replicas: 2)
                    #expect(try await counter.read(consistency: .majority()).value == 20)
                }
                // The others hand over what they cached and forget it.
                try await eventually("the nodes that do not hold the key forget it") {
                    var counts: [Int] = []
                    for node in cluster.nodes { counts.append(await Replication.keyCount(of: node)) }
                    return counts.sorted() == [0, 0, 1, 1]
                }
            }
        }

        @Test("when a holder dies, the key moves to another node, which catches up")
        func holderDies() async throws {
            try await withReplicatedCluster(4) { cluster in
                let counter = try cluster.nodes[0].replicated(PNCounter.self, key: "moving", replicas: 2)
                try await counter.update(consistency: .all()) { $0.increment(by: 7) }
                let before = await Self.holders("moving", on: cluster.nodes)
                #expect(before.count == 2)
                // Kill a holder other than the seed, which the test talks through.
                let victim = before.first { $0 != 0 } ?? before[0]
                await cluster.kill(victim)
                let survivors = cluster.nodes.indices.filter { $0 != victim }.map { cluster.nodes[$0] }
                try await eventually("two of the survivors hold the key again", timeout: .seconds(15)) {
                    await Self.holders("moving", on: survivors).count == 2
                }
                for index in await Self.holders("moving", on: survivors) {
                    let value = try survivors[index].replicated(PNCounter.self, key: "moving", replicas: 2)
                    #expect(await value.value.value == 7)
                }
            }
        }
    }
}

extension ClusterTimingTests.ReplicationTests {
    @Test("a crashed node's entries are pruned from every value on every node, and every value stays what it was")
    func pruning() async throws {
        try await withReplicatedCluster(4) { cluster in
            for (index, node) in cluster.nodes.enumerated() {
                let counter = try node.replicated(PNCounter.self, key: "visits")
                try await counter.update { $0.increment(by: Int64(index + 1)) }
                let set = try node.replicated(ORSet<Int>.self, key: "members")
                try await set.update { $0.insert(index * 100) }
            }
            let gone = ReplicaID(cluster.nodes[3].node)
            let survivors = Array(cluster.nodes.prefix(3))
            for node in survivors {
                let counter = try node.replicated(PNCounter.self, key: "visits")
                try await eventually("every increment arrives") { await counter.value.value == 10 }
            }
            await cluster.kill(3)
            try await eventually("the crashed node is pruned everywhere", timeout: .seconds(30)) {
                for node in survivors {
                    let counter = await (try node.replicated(PNCounter.self, key: "visits")).value
                    let set = await (try node.replicated(ORSet<Int>.self, key: "members")).value
                    if counter.mentions(gone) || set.mentions(gone) { return false }
                }
                return true
            }
            for node in survivors {
                let counter = await (try node.replicated(PNCounter.self, key: "visits")).value
                #expect(counter.value == 10)
                #expect(counter.increments.folded.isEmpty, "the fold marks are gone too")
                let set = await (try node.replicated(ORSet<Int>.self, key: "members")).value
                #expect(set.elements == [0, 100, 200, 300], "the crashed node's add stays, under another replica")
            }
        }
    }

    @Test("killing a node mid-write loses no update acknowledged at majority")
    func killMidWrite() async throws {
        try await withReplicatedCluster(3) { cluster in
            let writer = try cluster.nodes[0].replicated(ORSet<Int>.self, key: "acknowledged")
            var acknowledged: [Int] = []
            let killer = Task {
                try await Task.sleep(for: .milliseconds(100))
                await cluster.kill(2)
            }
            for value in 0..<200 {
                do {
                    try await writer.update(consistency: .majority(timeout: .seconds(2))) { $0.insert(value) }
                    acknowledged.append(value)
                } catch {
                    // Not acknowledged: it may or may not survive.
                }
            }
            try await killer.value
            #expect(acknowledged.count > 100)
            // Node 0 crashes too; node 1, the one survivor, holds every acknowledged write.
            await cluster.kill(0)
            let survivor = try cluster.nodes[1].replicated(ORSet<Int>.self, key: "acknowledged")
            let held = await survivor.value.elements
            #expect(Set(acknowledged).isSubset(of: held))
        }
    }
}
