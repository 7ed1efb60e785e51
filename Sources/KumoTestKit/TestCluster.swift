import Kumo
import KumoCore
import Logging

/// A cluster of nodes in this process, formed through the first node, with fault injection:
/// the kit for multi-node tests.
///
/// Membership runs on a fast schedule (gossip every 100 ms, probes every 200 ms) and downs a
/// member unreachable for `downAfter` (default 2 s), so tests see failures in seconds.
///
/// ```swift
/// let cluster = try await TestCluster.start(nodes: 3)
/// defer { Task { await cluster.shutdown() } }
/// try await cluster.waitForConvergence()
/// cluster.partition([0], from: [1, 2])
/// ```
public final class TestCluster: Sendable {
    /// The faults every node of the cluster applies to what it receives.
    public let injector: FaultInjector
    /// The nodes, in start order; node 0 is the seed.
    public let nodes: [ClusterSystem]

    /// Membership settings for tests: fast rounds, a short downing timeout.
    public static func testMembership(downAfter: Duration = .seconds(2)) -> MembershipSettings {
        var membership = MembershipSettings()
        membership.gossipInterval = .milliseconds(100)
        membership.probeInterval = .milliseconds(200)
        // Long enough that a node of a suite that starves its process's threads still answers.
        membership.probeTimeout = .milliseconds(800)
        membership.downing = .timeout(downAfter)
        membership.leaveGracePeriod = .milliseconds(400)
        return membership
    }

    /// Starts `count` nodes; every node after the first joins through it.
    public static func start(
        nodes count: Int, secret: String = "kumo-test-secret", downAfter: Duration = .seconds(2),
        logLevel: Logger.Level = .critical,
        configure: (Int, inout ClusterSettings) -> Void = { _, _ in }
    ) async throws -> TestCluster {
        let faults = FaultInjector()
        var nodes: [ClusterSystem] = []
        do {
            for index in 0..<count {
                var settings = ClusterSettings(name: "node\(index)", secret: secret)
                settings.membership = testMembership(downAfter: downAfter)
                settings.faults = faults
                settings.logger.logLevel = logLevel
                if let seed = nodes.first { settings.seeds = [seed.node.address] }
                configure(index, &settings)
                nodes.append(try await ClusterSystem(settings: settings))
            }
        } catch {
            for node in nodes { await node.shutdown() }
            throw error
        }
        return TestCluster(nodes: nodes, faults: faults)
    }

    private init(nodes: [ClusterSystem], faults: FaultInjector) {
        self.nodes = nodes
        self.injector = faults
    }

    /// Waits until every node in `indices` (default: all) sees exactly those nodes, all up.
    public func waitForConvergence(of indices: [Int]? = nil, timeout: Duration = .seconds(15)) async throws {
        let chosen = indices ?? Array(nodes.indices)
        for index in chosen {
            try await nodes[index].waitForMembers(chosen.count, timeout: timeout)
        }
    }

    /// Waits until `condition` holds for the view of node `index`, or throws after `timeout`.
    public func waitUntil(
        node index: Int, timeout: Duration = .seconds(15), _ what: String,
        _ condition: @Sendable ([Member]) -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if condition(await nodes[index].members()) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        let view = await nodes[index].members().map(\.description).joined(separator: "; ")
        throw ClusterError(.timeout, "node\(index) never saw \(what) within \(timeout); its view: \(view)")
    }

    /// Crashes node `index` (no goodbye, no leave).
    public func kill(_ index: Int) async {
        await nodes[index].simulateCrash()
    }

    /// Drops everything between the nodes of `side` and those of `other`, both ways.
    public func partition(_ side: [Int], from other: [Int]) {
        injector.partition(side.map { nodes[$0].node.address }, from: other.map { nodes[$0].node.address })
    }

    /// Delays everything between two nodes.
    public func delay(_ a: Int, _ b: Int, by delay: Duration) {
        injector.delay(nodes[a].node.address, nodes[b].node.address, by: delay)
    }

    /// Drops a fraction of the frames between two nodes.
    public func drop(_ a: Int, _ b: Int, probability: Double) {
        injector.drop(nodes[a].node.address, nodes[b].node.address, probability: probability)
    }

    /// Removes every injected fault.
    public func heal() {
        injector.heal()
    }

    /// Shuts every node down.
    public func shutdown() async {
        for node in nodes { await node.shutdown() }
    }
}
