import ArgumentParser
import Kumo
import KumoCRDT
import KumoJobs
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `kumo-bench peer`: the far end of a scenario, started by the scenario itself.
struct PeerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer", abstract: "The peer process of a scenario (started by the scenarios).", shouldDisplay: false)

    @Option(help: "kumo, jobs (a worker that joins --seed and runs the bench jobs), crdt (a replica that joins --seed), gears (a Code Gear Manager for gears-ring) or tcp.")
    var mode: String = "kumo"

    @Option(help: "For jobs and crdt: the node to join (host:port).")
    var seed: String?

    @Option(help: "For jobs: the cap on concurrent benchSleep jobs on this node.")
    var perNode: Int?

    @Option(help: "CPU to pin to, or -1.")
    var cpu: Int = -1

    @Option(help: "Cluster secret.")
    var secret: String = "kumo-bench"

    @OptionGroup var transport: TransportOptions

    func run() async throws {
        if cpu >= 0 { pinProcess(toCPU: cpu) }
        switch mode {
        case "tcp":
            try RawTCPEcho.serve()
        default:
            var settings = ClusterSettings(name: "bench-peer", secret: secret)
            var logger = Logger(label: "kumo")
            logger.logLevel = .error
            settings.logger = logger
            transport.apply(to: &settings)
            if mode == "jobs" {
                settings.plugins.install(benchJobs(perNode: perNode, runsJobs: true))
            }
            if mode == "crdt" {
                settings.plugins.install(benchReplication())
            }
            if let seed, let address = NodeAddress(parsing: seed) { settings.seeds = [address] }
            let system = try await ClusterSystem(settings: settings)
            let target = try system.withActorName("bench") { BenchTarget(actorSystem: system) }
            let crdt = mode == "crdt" ? try system.withActorName("bench-crdt") { CRDTBenchAgent(actorSystem: system) } : nil
            let gears = mode == "gears" ? try system.withActorName("bench-gears") { GearsBenchAgent(actorSystem: system) } : nil
            print("kumo-bench peer ready: \(system.node.address.port) \(system.node.incarnation)")
            fflush(nil)
            // Run until the scenario closes our stdin (or kills us).
            await waitForStandardInputToClose()
            withExtendedLifetime((target, crdt, gears)) {}
            await system.shutdown()
        }
    }
}

/// Blocks a background thread on stdin until it closes.
func waitForStandardInputToClose() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let thread = Thread {
            var byte: UInt8 = 0
            while read(0, &byte, 1) > 0 {}
            continuation.resume()
        }
        thread.start()
    }
}

import Foundation
