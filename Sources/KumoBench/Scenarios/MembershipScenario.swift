import ArgumentParser
import Kumo
import Logging

/// `kumo-bench membership`: N nodes in this process form a cluster through node 0; reports the
/// time to one agreed membership, the time until every node marks a killed node down, and the
/// membership traffic per node per second in the steady state.
struct MembershipScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "membership", abstract: "Convergence, failure detection and gossip traffic of N in-process nodes.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Nodes in the cluster.")
    var nodes = 100

    @Option(help: "Seconds of steady state over which traffic is measured.")
    var window = 5.0

    @Flag(help: "Run the membership logic of every node in one thread, over an in-memory transport with virtual time.")
    var simulated = false

    @Option(help: "With --simulated: the seed of the run's random choices.")
    var seed: UInt64 = 1

    func run() async throws {
        for run in 0..<options.runs {
            if simulated {
                try runSimulated(seed: seed &+ UInt64(run))
            } else {
                try await runOnce()
            }
        }
    }

    /// The same fields from a simulation: times are virtual seconds.
    private func runSimulated(seed: UInt64) throws {
        var settings = MembershipSimulation.Settings(nodes: nodes)
        settings.window = .seconds(window)
        settings.seed = seed
        let clock = ContinuousClock()
        let started = clock.now
        let result = try MembershipSimulation.run(settings)
        report(options, [
            ("scenario", "membership"), ("simulated", true), ("nodes", nodes), ("converge_s", seconds(result.converge)),
            ("detect_s", result.detect.map(seconds) ?? -1), ("msgs_per_node_per_s", result.messagesPerNodePerSecond),
            ("views_per_node_per_s", result.viewsPerNodePerSecond), ("events", result.events),
            ("wall_s", seconds(clock.now - started)),
        ])
    }

    private func runOnce() async throws {
        let clock = ContinuousClock()
        let secret = "bench-membership"
        var logger = Logger(label: "kumo")
        logger.logLevel = .critical
        let start = clock.now
        var systems: [ClusterSystem] = []
        for index in 0..<nodes {
            var settings = ClusterSettings(name: "n\(index)", secret: secret)
            settings.logger = logger
            if let seed = systems.first { settings.seeds = [seed.node.address] }
            systems.append(try await ClusterSystem(settings: settings))
        }
        // Converged: every node sees all nodes up.
        try await waitUntil(timeout: .seconds(120)) {
            for system in systems {
                let members = await system.members()
                if members.count != nodes || !members.allSatisfy({ $0.status == .up }) { return false }
            }
            return true
        }
        let converged = clock.now - start

        // Steady-state traffic.
        var before: UInt64 = 0
        for system in systems { before += await system.membershipMessagesSent() }
        let windowStart = clock.now
        try await Task.sleep(for: .seconds(window))
        var after: UInt64 = 0
        for system in systems { after += await system.membershipMessagesSent() }
        let elapsed = seconds(clock.now - windowStart)
        let perNode = Double(after - before) / Double(nodes) / elapsed

        // Kill one node; wait until every other node marks it down.
        let victim = systems[nodes / 2]
        let killed = clock.now
        await victim.simulateCrash()
        let others = systems.filter { $0 !== victim }
        try await waitUntil(timeout: .seconds(60)) {
            for system in others {
                let members = await system.members()
                if members.first(where: { $0.node == victim.node })?.status != .down { return false }
            }
            return true
        }
        let detected = clock.now - killed
        for system in others { await system.shutdown() }
        report(options, [
            ("scenario", "membership"), ("nodes", nodes), ("converge_s", seconds(converged)), ("detect_s", seconds(detected)),
            ("msgs_per_node_per_s", perNode),
        ])
    }

    private func waitUntil(timeout: Duration, _ condition: () async -> Bool) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the cluster did not get there within \(timeout)")
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
