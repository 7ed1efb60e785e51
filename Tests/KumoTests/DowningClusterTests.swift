import Kumo
import KumoCore
import KumoExamples
import KumoTestKit
import Testing

/// Keep-majority downing between nodes in one process: who survives, and what a downed node says.
extension ClusterTimingTests {
    @Suite("Downing keeps the service alive", .timeLimit(.minutes(2)))
    struct DowningClusterTests {
        /// A test cluster whose nodes down by keep-majority after `downAfter`.
        static func start(nodes: Int, downAfter: Duration = .milliseconds(800),
                          configure: @escaping (Int, inout ClusterSettings) -> Void = { _, _ in }) async throws -> TestCluster
        {
            try await TestCluster.start(nodes: nodes) { index, settings in
                settings.membership.downing = .keepMajority(after: downAfter)
                configure(index, &settings)
            }
        }

        @Test("a 2/2 partition of four nodes ends with exactly one side up: the side of the oldest")
        func evenSplit() async throws {
            let cluster = try await Self.start(nodes: 4)
            try await cluster.waitForConvergence()
            cluster.partition([0, 1], from: [2, 3])
            try await waitFor("nodes 2 and 3 (without the oldest) down themselves") {
                cluster.nodes[2].isDowned && cluster.nodes[3].isDowned
            }
            for index in 0..<2 {
                try await cluster.waitUntil(node: index, "nodes 2 and 3 down") { members in
                    members.filter { $0.status == .down }.count == 2
                }
            }
            #expect(!cluster.nodes[0].isDowned && !cluster.nodes[1].isDowned)
            cluster.heal()
            await cluster.shutdown()
        }

        @Test("a minority of one downs itself; the majority downs it")
        func minorityDownsItself() async throws {
            let cluster = try await Self.start(nodes: 3)
            try await cluster.waitForConvergence()
            cluster.partition([0], from: [1, 2])  // even the oldest is alone on its side
            try await waitFor("node0, a minority, downs itself") { cluster.nodes[0].isDowned }
            try await cluster.waitUntil(node: 1, "node0 down") { $0.first { $0.node == cluster.nodes[0].node }?.status == .down }
            #expect(!cluster.nodes[1].isDowned && !cluster.nodes[2].isDowned)
            cluster.heal()
            await cluster.shutdown()
        }

        @Test("the oldest of two survives the crash of the younger and is never downed; its events end with its leave")
        func youngerCrashes() async throws {
            let cluster = try await Self.start(nodes: 2)
            try await cluster.waitForConvergence()
            let events = cluster.nodes[0].lifecycleEvents()
            await cluster.kill(1)
            try await cluster.waitUntil(node: 0, "node1 down") { $0.first { $0.node == cluster.nodes[1].node }?.status == .down }
            try await Task.sleep(for: .seconds(1))
            #expect(!cluster.nodes[0].isDowned)
            await cluster.nodes[0].shutdown()
            var statuses: [MemberStatus] = []
            for await event in events { statuses.append(event.status) }
            // Alone, it has nobody to tell: up, then removed.
            #expect(statuses == [.up, .removed], "node0 went through \(statuses)")
        }

        @Test("a client node's crash is downed by a lone member without any effect on it")
        func clientCrashes() async throws {
            let cluster = try await Self.start(nodes: 2) { index, settings in
                if index == 0 { settings.role = .client }  // the client is even the older, lower node
            }
            try await cluster.waitForConvergence()
            #expect(await cluster.nodes[1].members().first { $0.node == cluster.nodes[0].node }?.role == .client)
            await cluster.kill(0)
            try await cluster.waitUntil(node: 1, "the client down") { $0.first { $0.node == cluster.nodes[0].node }?.status == .down }
            try await Task.sleep(for: .seconds(1))
            #expect(!cluster.nodes[1].isDowned)
            await cluster.nodes[1].shutdown()
        }

        @Test("a downed node refuses joins with a verdict naming itself, and the joiner's start fails saying so")
        func downedSeed() async throws {
            let cluster = try await Self.start(nodes: 2)
            try await cluster.waitForConvergence()
            let seed = cluster.nodes[1]  // the younger: it downs itself once the oldest is gone
            let events = seed.lifecycleEvents()
            await cluster.kill(0)
            var last: NodeLifecycleEvent?
            for await event in events { last = event }
            #expect(last?.status == .down)
            #expect(last?.reason?.contains("majority") == true, "\(String(describing: last))")

            var settings = ClusterSettings(name: "joiner", secret: "kumo-test-secret")
            settings.seeds = [seed.node.address]
            settings.membership = TestCluster.testMembership()
            settings.logger.logLevel = .critical
            do {
                let joiner = try await ClusterSystem(settings: settings)
                Issue.record("the joiner started through a downed seed")
                await joiner.shutdown()
            } catch let error as ClusterError {
                #expect(error.code == .seedDown)
                #expect(error.message.contains("node1"), "\(error)")
                #expect(error.message.contains("\(seed.node.address)"), "\(error)")
                #expect(error.message.contains("downed"), "\(error)")
            }
            await seed.shutdown()
        }

        @Test("lifecycle events: up once the start has joined, then down with the reason")
        func lifecycleEvents() async throws {
            let cluster = try await Self.start(nodes: 1)
            var settings = ClusterSettings(name: "late", secret: "kumo-test-secret")
            settings.seeds = [cluster.nodes[0].node.address]
            settings.membership = TestCluster.testMembership(downAfter: .milliseconds(800))
            settings.membership.downing = .keepMajority(after: .milliseconds(800))
            settings.faults = cluster.injector
            settings.logger.logLevel = .critical
            let late = try await ClusterSystem(settings: settings)
            let events = late.lifecycleEvents()
            try await late.waitForMembers(2)
            await cluster.kill(0)
            var statuses: [MemberStatus] = []
            for await event in events { statuses.append(event.status) }
            // A start whose first join attempt was slow (a loaded machine) begins with `joining`.
            if statuses.first == .joining { statuses.removeFirst() }
            #expect(statuses == [.up, .down], "\(statuses)")
            #expect(late.isDowned)
            await late.shutdown()
        }
    }
}
