import ArgumentParser
import Kumo
import KumoGears
import KumoTestKit

/// `kumo-bench gears-local`: a chain of Code Gears in one manager, each taking one gear and
/// putting the next.
struct GearsLocalScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gears-local", abstract: "A take and a put per Code Gear, in one manager.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Gears in the chain.")
    var gears = 1_000_000

    @Option(help: "Where the gears' work runs: loop (CodeGearManager(runsGearsOnEventLoop: true), for gears that do little each) or pool (the default of CodeGearManager).")
    var runGears: GearsPlace = .loop

    func run() async throws {
        let system = try await ClusterSystem(settings: options.driverSettings(name: "bench-gears"))
        for run in 0..<options.runs {
            let cgm = try CodeGearManager(name: "local\(run)", system: system, runsGearsOnEventLoop: runGears == .loop)
            let done = Signal()
            let clock = ContinuousClock()
            let start = clock.now
            cgm.setup(BenchStep(end: gears, done: done))
            try await cgm.local.put("n", 1)
            await done.wait()
            let elapsed = clock.now - start
            report(options, [
                ("scenario", "gears-local"), ("gears", gears), ("gears_per_s", Double(gears) / seconds(elapsed)),
                ("run_gears", runGears.rawValue),
            ])
            await cgm.close()
        }
        await system.shutdown()
    }
}

/// `kumo-bench gears-ring`: a token passed around a ring of OS processes, by a remote put to the
/// right neighbour's DGM and a take there.
struct GearsRingScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gears-ring", abstract: "A token passed around a ring of processes by Code Gears.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Nodes (OS processes, this one included).")
    var nodes = 3

    @Option(help: "Times the token goes around.")
    var laps = 10_000

    @Option(help: "Where the gears' work runs: loop (CodeGearManager(runsGearsOnEventLoop: true), for gears that do little each) or pool (the default of CodeGearManager).")
    var runGears: GearsPlace = .loop

    func run() async throws {
        let settings = options.driverSettings(name: "bench-gears")
        let system = try await ClusterSystem(settings: settings)
        var peers: [ChildProcess] = []
        defer { for peer in peers { peer.kill() } }
        var agents: [GearsBenchAgent] = []
        var peerNodes: [NodeID] = []
        for _ in 1..<max(nodes, 2) {
            let peer = try await ChildProcess.launch(
                executable: siblingExecutable(named: "kumo-bench"),
                arguments: ["peer", "--mode", "gears", "--cpu=-1", "--secret", settings.secret] + options.transport.arguments,
                readyPrefix: "kumo-bench peer ready: ")
            peers.append(peer)
            // "PORT INCARNATION"
            guard let port = peer.readyLine.split(separator: " ").first.flatMap({ Int($0) }) else {
                throw BenchError("a gears peer announced no port: \(peer.readyLine)")
            }
            let node = try await system.connect(to: NodeAddress(host: "127.0.0.1", port: port))
            peerNodes.append(node)
            agents.append(try GearsBenchAgent.resolve(id: .named("bench-gears", on: node), using: system))
        }
        for run in 0..<options.runs {
            let hops = laps * max(nodes, 2)
            let names = (0..<max(nodes, 2)).map { "ring\(run)-\($0)" }
            let cgm = try CodeGearManager(name: names[0], system: system, runsGearsOnEventLoop: runGears == .loop)
            cgm.connect("right", to: names[1], on: peerNodes[0])
            for (index, agent) in agents.enumerated() {
                let next = index + 2 < names.count ? (names[index + 2], peerNodes[index + 1]) : (names[0], system.node)
                try await agent.arm(name: names[index + 1], right: next.0, on: next.1, end: hops, onLoop: runGears == .loop)
            }
            let done = Signal()
            cgm.setup(BenchPass(end: hops, done: done))
            let clock = ContinuousClock()
            let start = clock.now
            try await cgm.local.put("token", 0)
            await done.wait()
            let elapsed = clock.now - start
            report(options, [
                ("scenario", "gears-ring"), ("nodes", max(nodes, 2)), ("laps", laps), ("hops_per_s", Double(hops) / seconds(elapsed)),
                ("hop_us", seconds(elapsed) / Double(hops) * 1e6), ("run_gears", runGears.rawValue),
            ])
            await cgm.close()
        }
        await system.shutdown()
        for peer in peers {
            peer.closeStandardInput()
            _ = await peer.waitForExit(timeout: .seconds(5))
        }
    }
}

/// Where a gears scenario runs its gears' work.
enum GearsPlace: String, ExpressibleByArgument, CaseIterable {
    case loop
    case pool
}
