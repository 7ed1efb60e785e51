import InMemoryLogging
import Kumo
import KumoCore
import KumoExamples
import KumoTestKit
import Logging
import Testing

extension ClusterTimingTests {
    @Suite("Membership, failure detection and downing", .timeLimit(.minutes(2)))
    struct MembershipTests {
        @Test("nodes join through a seed and agree on one membership, all up")
        func joinAndConverge() async throws {
            let cluster = try await TestCluster.start(nodes: 4)
            try await cluster.waitForConvergence()
            for (index, node) in cluster.nodes.enumerated() {
                let members = await node.members()
                #expect(Set(members.map(\.node)) == Set(cluster.nodes.map(\.node)))
                #expect(members.allSatisfy { $0.status == .up })
                // A probe answered late on a loaded machine may flag a member unreachable for a moment.
                try await cluster.waitUntil(node: index, "every member reachable") {
                    $0.allSatisfy { $0.reachability == .reachable }
                }
            }
            await cluster.shutdown()
        }

        @Test("a node that leaves goes leaving then removed everywhere, and its watchers hear it left, once")
        func gracefulLeave() async throws {
            let cluster = try await TestCluster.start(nodes: 3)
            try await cluster.waitForConvergence()
            let leaver = cluster.nodes[2].node
            let events = await cluster.nodes[0].membershipEvents()
            let watch = await cluster.nodes[0].watch(node: leaver)
            await cluster.nodes[2].shutdown()
            #expect(await watch.reason == .nodeLeft(leaver))
            try await cluster.waitUntil(node: 1, "node2 removed") { $0.first { $0.node == leaver }?.status == .removed }
            var statuses: [MemberStatus] = []
            for await event in events {
                if case .statusChanged(let member, _) = event, member.node == leaver {
                    statuses.append(member.status)
                    if member.status == .removed { break }
                }
            }
            #expect(statuses.first == .up)
            #expect(statuses.last == .removed)
            #expect(watch.firedReason == .nodeLeft(leaver))
            await cluster.nodes[0].shutdown()
            await cluster.nodes[1].shutdown()
        }

        @Test("a crashed node is marked down on every other node; watchers hear it once; calls fail fast")
        func crashDetected() async throws {
            let cluster = try await TestCluster.start(nodes: 4, downAfter: .seconds(1))
            try await cluster.waitForConvergence()
            let victim = cluster.nodes[3]
            let greeter = Greeter(actorSystem: victim)
            let remote = try Greeter.resolve(id: greeter.id, using: cluster.nodes[0])
            #expect(try await remote.greetings() == 0)
            let actorWatch = await cluster.nodes[0].watch(remote)
            let nodeWatch = await cluster.nodes[1].watch(node: victim.node)
            let clock = ContinuousClock()
            let start = clock.now
            await cluster.kill(3)
            for index in 0..<3 {
                try await cluster.waitUntil(node: index, timeout: .seconds(10), "node3 down") {
                    $0.first { $0.node == victim.node }?.status == .down
                }
            }
            #expect(clock.now - start < .seconds(1 + 2 + 2))  // downing timeout + detection + spread
            #expect(await actorWatch.reason == .nodeDown(victim.node))
            #expect(await nodeWatch.reason == .nodeDown(victim.node))
            let callStart = clock.now
            await #expect(throws: ClusterError.self) { _ = try await remote.greet("gone") }
            #expect(clock.now - callStart < .seconds(1))
            for index in 0..<3 { await cluster.nodes[index].shutdown() }
        }

        @Test("a short partition makes members unreachable, then reachable again when it heals")
        func partitionHeals() async throws {
            let cluster = try await TestCluster.start(nodes: 3, downAfter: .seconds(30))
            try await cluster.waitForConvergence()
            let isolated = cluster.nodes[2].node
            cluster.partition([2], from: [0, 1])
            try await cluster.waitUntil(node: 0, "node2 unreachable") {
                $0.first { $0.node == isolated }?.reachability == .unreachable
            }
            cluster.heal()
            try await cluster.waitUntil(node: 0, "node2 reachable again") {
                $0.first { $0.node == isolated }?.reachability == .reachable
            }
            #expect(await cluster.nodes[0].members().allSatisfy { $0.status == .up })
            await cluster.shutdown()
        }

        @Test("one lost probe does not make anyone unreachable: indirect probes go around it")
        func lossyLinkIsNotDown() async throws {
            // Downing after 2 s: a node wrongly found unreachable would be down within the 3 s below,
            // while a loaded machine's slow start does not down anyone.
            let cluster = try await TestCluster.start(nodes: 4, downAfter: .seconds(2))
            try await cluster.waitForConvergence()
            // The direct link 0–3 loses everything, but 0 can still reach 3 through 1 and 2.
            cluster.partition([0], from: [3])
            try await Task.sleep(for: .seconds(3))
            let view = await cluster.nodes[1].members()
            #expect(view.allSatisfy { $0.status == .up }, "\(view)")
            cluster.heal()
            await cluster.shutdown()
        }

        @Test("a partitioned node downed by the others learns it is down; its gossip is then ignored")
        func downedNodeStaysOut() async throws {
            let cluster = try await TestCluster.start(nodes: 3, downAfter: .milliseconds(800))
            try await cluster.waitForConvergence()
            let outcast = cluster.nodes[2]
            cluster.partition([2], from: [0, 1])
            try await cluster.waitUntil(node: 0, "node2 down") { $0.first { $0.node == outcast.node }?.status == .down }
            cluster.heal()
            try await waitFor("node2 hears the others' verdict once the partition heals") { outcast.isDowned }
            try await Task.sleep(for: .milliseconds(500))
            #expect(await cluster.nodes[0].members().first { $0.node == outcast.node }?.status == .down)
            await cluster.shutdown()
        }

        @Test("a partitioned node that downed every other member asks one of them where it stands, and goes down")
        func isolatedNodeAsksWhereItStands() async throws {
            let cluster = try await TestCluster.start(nodes: 3, downAfter: .milliseconds(800))
            try await cluster.waitForConvergence()
            let outcast = cluster.nodes[2]
            cluster.partition([2], from: [0, 1])
            // The ordering that once left node2 up alone for good: before the heal it has downed both
            // its peers (so it gossips with nobody), and node0 has downed it (so nobody gossips with it).
            try await cluster.waitUntil(node: 2, "node0 and node1 down") { members in
                let peers = members.filter { $0.node != outcast.node }
                return peers.count == 2 && peers.allSatisfy { $0.status == .down }
            }
            try await cluster.waitUntil(node: 0, "node2 down") { $0.first { $0.node == outcast.node }?.status == .down }
            cluster.heal()
            try await waitFor("node2, alone in its own view, never learned that the others downed it") { outcast.isDowned }
            // It asked without telling: its verdicts on node0 and node1 did not spread.
            try await Task.sleep(for: .milliseconds(500))
            let view = await cluster.nodes[0].members()
            #expect(view.first { $0.node == outcast.node }?.status == .down, "\(view)")
            #expect(view.filter { $0.node != outcast.node }.allSatisfy { $0.status == .up }, "\(view)")
            #expect(!cluster.nodes[0].isDowned && !cluster.nodes[1].isDowned)
            await cluster.shutdown()
        }

        @Test("two nodes that downed each other, each alone, settle on one survivor: the lower address")
        func mutualDowning() async throws {
            let cluster = try await TestCluster.start(nodes: 2, downAfter: .milliseconds(800))
            try await cluster.waitForConvergence()
            cluster.partition([1], from: [0])
            for index in 0..<2 {
                let other = cluster.nodes[1 - index].node
                try await cluster.waitUntil(node: index, "the other node down") { $0.first { $0.node == other }?.status == .down }
            }
            cluster.heal()
            // Both ask where they stand; only the higher address is told it is down.
            let (low, high) = cluster.nodes[0].node.address < cluster.nodes[1].node.address
                ? (cluster.nodes[0], cluster.nodes[1]) : (cluster.nodes[1], cluster.nodes[0])
            try await waitFor("the node with the higher address never learned it is down") { high.isDowned }
            try await Task.sleep(for: .seconds(1))
            #expect(!low.isDowned, "both nodes went down")
            await cluster.shutdown()
        }
    }
}

extension ClusterTimingTests {
    @Suite("Registry, watch, spawn and the cluster log", .timeLimit(.minutes(2)))
    struct ClusterServicesTests {
        @Test("an actor registered on one node is found from every node, and disappears with its node")
        func registry() async throws {
            let cluster = try await TestCluster.start(nodes: 3, downAfter: .seconds(1))
            try await cluster.waitForConvergence()
            let greeter = Greeter(actorSystem: cluster.nodes[1])
            try await cluster.nodes[1].register(greeter, as: "greeters")
            let listing = await cluster.nodes[2].listing("greeters")
            var iterator = listing.makeAsyncIterator()
            var seen = await iterator.next() ?? []
            while seen != [greeter.id] { seen = await iterator.next() ?? [] }
            try await waitFor { await cluster.nodes[0].lookup("greeters") == [greeter.id] }
            let found = try await cluster.nodes[0].lookup(Greeter.self, "greeters")
            let first = try #require(found.first)
            #expect(try await first.greet("registry").contains("registry"))
            await cluster.kill(1)
            while !seen.isEmpty { seen = await iterator.next() ?? [] }
            try await cluster.waitUntil(node: 0, "node1 down") { $0.first { $0.node == cluster.nodes[1].node }?.status == .down }
            #expect(await cluster.nodes[0].lookup("greeters").isEmpty)
            await cluster.nodes[0].shutdown()
            await cluster.nodes[2].shutdown()
        }

        @Test("a registration disappears when its actor is deinitialized")
        func registryCleanupOnDeinit() async throws {
            let cluster = try await TestCluster.start(nodes: 2)
            try await cluster.waitForConvergence()
            var greeter: Greeter? = Greeter(actorSystem: cluster.nodes[0])
            try await cluster.nodes[0].register(greeter!, as: "temp")
            let id = greeter!.id
            try await waitFor { await cluster.nodes[1].lookup("temp") == [id] }
            greeter = nil
            try await waitFor { await cluster.nodes[1].lookup("temp").isEmpty }
            await cluster.shutdown()
        }

        @Test("watching an actor on another node reports its stop exactly once")
        func watchActorStop() async throws {
            let cluster = try await TestCluster.start(nodes: 2)
            try await cluster.waitForConvergence()
            var greeter: Greeter? = Greeter(actorSystem: cluster.nodes[1])
            let id = greeter!.id
            let watch = await cluster.nodes[0].watch(id)
            let second = await cluster.nodes[0].watch(id)
            greeter = nil
            #expect(await watch.reason == .actorStopped(id, found: true))
            #expect(await second.reason == .actorStopped(id, found: true))
            let ghost = await cluster.nodes[0].watch(id)
            #expect(await ghost.reason == .actorStopped(id, found: false))
            await cluster.shutdown()
        }

        @Test("spawn creates an actor of a registered type on the chosen node; an unregistered type is an error naming it and the node")
        func remoteSpawn() async throws {
            let cluster = try await TestCluster.start(nodes: 2)
            try await cluster.waitForConvergence()
            cluster.nodes[1].registerSpawnable(Greeter.self) { Greeter(actorSystem: $0) }
            let greeter = try await cluster.nodes[0].spawn(Greeter.self, on: cluster.nodes[1].node)
            #expect(greeter.id.node == cluster.nodes[1].node)
            #expect(try await greeter.greet("spawned").contains("from node1"))
            do {
                _ = try await cluster.nodes[0].spawn(Recorder.self, on: cluster.nodes[1].node)
                Issue.record("expected an error")
            } catch let error as ClusterError {
                #expect(error.code == .unknownType)
                #expect(error.message.contains("Recorder"))
                #expect(error.message.contains("node1"))
            }
            await cluster.shutdown()
        }

        @Test("lines said on any node are collected, tagged, on one node")
        func clusterLog() async throws {
            // Every node logs to the same handler; only the collector writes said lines.
            let collected = InMemoryLogHandler()
            let cluster = try await TestCluster.start(nodes: 3) { _, settings in
                settings.logger = Logger(label: "collector") { _ in collected }
                settings.logger.logLevel = .info
            }
            try await cluster.waitForConvergence()
            try await cluster.nodes[2].say("hello from two")
            try await cluster.nodes[1].say("hello from one")
            try await waitFor { collected.entries.filter { $0.metadata["kumo.origin.node"] != nil }.count >= 2 }
            let lines = collected.entries.filter { $0.metadata["kumo.origin.node"] != nil }
            #expect(lines.contains { "\($0.message)" == "hello from two" && $0.metadata["kumo.origin.node"]?.description.hasPrefix("node2") == true })
            #expect(lines.contains { "\($0.message)" == "hello from one" })
            await cluster.shutdown()
        }
    }
}

/// Polls `condition` every 20 ms for up to `timeout`.
func waitFor(
    _ what: String = "condition not met", timeout: Duration = .seconds(10), _ condition: () async -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("\(what) (waited \(timeout))")
}
