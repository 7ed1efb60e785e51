import ArgumentParser
import CoreMetrics
import Kumo
import KumoCRDT
import KumoTestKit
import Logging

/// `kumo-bench crdt`: OS processes each incrementing a shared PNCounter, then each adding to a
/// shared ORSet; the local update rate per node, the time to converge after the last update, and
/// the bytes on the wire per update.
struct CRDTScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crdt", abstract: "Nodes in separate processes updating a shared PNCounter and ORSet.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Nodes (OS processes, this one included).")
    var nodes = 3

    @Option(help: "Updates per node of each value.")
    var updates = 100_000

    @Option(help: "Run only this phase: counter or set (for profiling one of them).")
    var only: String?

    func run() async throws {
        let metrics = ByteCountingMetrics()
        var settings = options.driverSettings(name: "bench-driver")
        let secret = settings.secret
        settings.plugins.install(benchReplication())
        let system = try await withMetricsFactory(metrics) { try await ClusterSystem(settings: settings) }
        var peers: [ChildProcess] = []
        defer { for peer in peers { peer.kill() } }
        for _ in 1..<nodes {
            peers.append(try await ChildProcess.launch(
                executable: siblingExecutable(named: "kumo-bench"),
                arguments: [
                    "peer", "--mode", "crdt", "--cpu=-1", "--secret", secret,
                    "--seed", "127.0.0.1:\(system.node.address.port)",
                ] + options.transport.arguments,
                readyPrefix: "kumo-bench peer ready: "))
        }
        try await system.waitForMembers(nodes, timeout: .seconds(20))
        let clock = ContinuousClock()
        let ready = clock.now + .seconds(20)
        while await Replication.peers(of: system).count < nodes - 1, clock.now < ready {
            try await Task.sleep(for: .milliseconds(20))
        }
        let remote = try await system.members().filter { $0.node != system.node }.map {
            try CRDTBenchAgent.resolve(id: .named("bench-crdt", on: $0.node), using: system)
        }

        for agent in remote {
            while try await agent.replicaPeers() < nodes - 1, clock.now < ready {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        for _ in 0..<options.runs {
            var fields: [(String, any Sendable)] = [("scenario", "crdt"), ("nodes", nodes), ("updates", updates)]
            for phase in 0..<2 where only == nil || only == (phase == 0 ? "counter" : "set") {
                let base = try await crdtValues(on: system)[phase]
                let bytesBefore = metrics.bytesOut
                let updates = self.updates
                let elapsed = try await withThrowingTaskGroup(of: UInt64.self) { group in
                    group.addTask { try await runCRDTUpdates(on: system, updates: updates, phase: phase, offset: Int(base) + 0) }
                    for (index, agent) in remote.enumerated() {
                        let offset = Int(base) + (index + 1) * updates
                        group.addTask { try await system.withCallTimeout(.seconds(120)) { try await agent.run(updates: updates, phase: phase, offset: offset) } }
                    }
                    var all: [UInt64] = []
                    for try await nanoseconds in group { all.append(nanoseconds) }
                    return all
                }
                let lastUpdate = clock.now
                let expected = base + Int64(nodes * updates)
                var converged = false
                while clock.now - lastUpdate < .seconds(60) {
                    var everywhere = try await crdtValues(on: system)[phase] == expected
                    for agent in remote where everywhere {
                        everywhere = try await agent.values()[phase] == expected
                    }
                    if everywhere {
                        converged = true
                        break
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                guard converged else { throw BenchError("phase \(phase) did not converge within 60 s") }
                let convergeMs = Double((clock.now - lastUpdate).components.attoseconds) / 1e15
                    + Double((clock.now - lastUpdate).components.seconds) * 1000
                let bytes = Double(metrics.bytesOut - bytesBefore) / Double(updates)
                let slowest = Double(elapsed.max() ?? 1) / 1e9
                let rate = Int(Double(updates) / slowest)
                let prefix = phase == 0 ? "" : "set_"
                fields += [
                    ("\(prefix)updates_per_s", rate), ("\(prefix)converge_ms", (convergeMs * 10).rounded() / 10),
                    ("\(prefix)bytes_per_update", (bytes * 1000).rounded() / 1000),
                ]
                if phase == 0 {
                    let state = try BinaryEncoder().encode(try await system.replicated(PNCounter.self, key: "bench.counter").value)
                    fields.append(("state_bytes", state.readableBytes))
                } else {
                    let state = try BinaryEncoder().encode(try await system.replicated(ORSet<Int>.self, key: "bench.set").value)
                    fields.append(("set_state_bytes", state.readableBytes))
                }
            }
            report(options, fields)
        }
        await system.shutdown()
        for peer in peers {
            peer.closeStandardInput()
            _ = await peer.waitForExit(timeout: .seconds(5))
        }
    }
}
