import ArgumentParser
import Foundation
import Kumo
import KumoGears
import KumoNode

/// `kumo-gears ring-node`: one node of a ring of OS processes. It joins the cluster and the
/// Topology Manager (`kumo topology --graph ring.dot`), which names it and links it to the next
/// node; the node named `node0` starts a token, which goes around the ring `--laps` times, then
/// once more to tell every node to stop.
///
/// ```
/// kumo topology --port 7100 --graph ring.dot --secret S &
/// kumo-gears ring-node --port 0 --seed 127.0.0.1:7100 --secret S --laps 1000   # three times
/// ```
struct RingNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring-node",
        abstract: "One node of a token ring of OS processes wired by `kumo topology`.",
        discussion: """
            Once it holds a name it prints `kumo-gears ring-node ready: name=NAME address=HOST:PORT`. \
            The starter prints `token: LAPS laps, HOPS hops in SECONDS s (MICROS us per hop)` when \
            the laps are done; every node exits with status 0 once the stop token has passed it.
            """)

    @OptionGroup var options: NodeOptions

    @Option(help: "The Topology Manager's node, as HOST:PORT (default: the first --seed).")
    var topology: String?

    @Option(help: "How many times the token goes around.")
    var laps = 3

    @Option(help: "The label of the DGM the token is passed to.")
    var next = "right"

    @Option(help: "The name of the node that starts the token.")
    var starter = "node0"

    func validate() throws {
        try options.validate()
        guard laps >= 1 else { throw ValidationError("--laps must be at least 1") }
        guard try topologyAddress() != nil else { throw ValidationError("--topology HOST:PORT or a --seed is required") }
    }

    private func topologyAddress() throws -> NodeAddress? {
        guard let text = topology ?? options.seeds.first else { return nil }
        guard let address = NodeAddress(parsing: text) else { throw ValidationError("'\(text)' is not HOST:PORT") }
        return address
    }

    func run() async throws {
        guard let address = try topologyAddress() else { throw ValidationError("--topology HOST:PORT or a --seed is required") }
        let system = try await ClusterSystem(settings: options.settings(defaultName: "ring-node"))
        let cgm = try CodeGearManager(name: "ring", system: system, runsGearsOnEventLoop: true)
        let me = try await cgm.join(topology: address)
        print("kumo-gears ring-node ready: name=\(me.name) address=\(system.node.address)")
        fflush(nil)
        let stopped = Finished()
        let isStarter = me.name == starter
        cgm.setup(RingHop(next: next, laps: laps, isStarter: isStarter, stopped: stopped, started: .now))
        if isStarter { try await cgm.local.put("token", RingToken()) }
        await stopped.wait()
        await cgm.close()
        await system.leave()
        await system.shutdown()
    }
}

/// The token: how many laps and hops it has made, and whether it now tells the nodes to stop.
struct RingToken: Codable, Sendable {
    var laps = 0
    var hops = 0
    var stop = false
}

/// Takes the token and passes it on; the starter counts the laps.
@Gear
struct RingHop {
    @Take("token") var token: RingToken
    let next: String
    let laps: Int
    let isStarter: Bool
    let stopped: Finished
    let started: ContinuousClock.Instant

    func run(_ cgm: CodeGearManager) async throws {
        var token = token
        if isStarter, token.hops > 0 {
            if token.stop { return stopped.fire() }
            token.laps += 1
            if token.laps == laps {
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                print(
                    "token: \(token.laps) laps, \(token.hops) hops in \(String(format: "%.3f", seconds)) s "
                        + "(\(String(format: "%.1f", seconds * 1e6 / Double(token.hops))) us per hop)")
                fflush(nil)
                token.stop = true
            }
        }
        token.hops += 1
        try await cgm.dgm(next).put("token", token)
        if token.stop, !isStarter { return stopped.fire() }
        cgm.setup(RingHop(next: next, laps: laps, isStarter: isStarter, stopped: stopped, started: started))
    }
}
