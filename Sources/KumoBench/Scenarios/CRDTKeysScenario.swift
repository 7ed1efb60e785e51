import ArgumentParser
import Foundation
import Kumo
import KumoCRDT
import KumoTestKit
import Logging

/// `kumo-bench crdt-keys`: one node holding many top-level keys, and a second node joining: how
/// long until the joiner holds them all, and the memory the first node uses.
struct CRDTKeysScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crdt-keys", abstract: "One node with many replicated keys, and a node joining it.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Top-level keys (each a GCounter).")
    var keys = 1_000_000

    func run() async throws {
        var settings = options.driverSettings(name: "bench-holder")
        let secret = settings.secret
        settings.plugins.install(benchReplication())
        let system = try await ClusterSystem(settings: settings)
        let clock = ContinuousClock()
        let loadStart = clock.now
        for index in 0..<keys {
            try await system.replicated(GCounter.self, key: "key-\(index)").update { $0.increment() }
        }
        let loaded = clock.now - loadStart
        let rss = residentMegabytes()

        let joinStart = clock.now
        let joiner = try await ChildProcess.launch(
            executable: siblingExecutable(named: "kumo-bench"),
            arguments: [
                "peer", "--mode", "crdt", "--cpu=-1", "--secret", secret,
                "--seed", "127.0.0.1:\(system.node.address.port)",
            ] + options.transport.arguments,
            readyPrefix: "kumo-bench peer ready: ")
        defer { joiner.kill() }
        try await system.waitForMembers(2, timeout: .seconds(20))
        let node = try require(await system.members().first { $0.node != system.node }).node
        let agent = try CRDTBenchAgent.resolve(id: .named("bench-crdt", on: node), using: system)
        var held = 0
        while clock.now - joinStart < .seconds(120) {
            held = try await agent.keyCount()
            if held >= keys { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let catchUp = clock.now - joinStart
        report(options, [
            ("scenario", "crdt-keys"), ("keys", keys), ("held_by_joiner", held),
            ("catch_up_s", seconds(catchUp)), ("rss_mb", rss), ("load_s", seconds(loaded)),
        ])
        await system.shutdown()
        joiner.closeStandardInput()
        _ = await joiner.waitForExit(timeout: .seconds(5))
    }

    private func seconds(_ duration: Duration) -> Double {
        let (whole, fraction) = duration.components
        return ((Double(whole) + Double(fraction) / 1e18) * 1000).rounded() / 1000
    }

    private func residentMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kib / 1024
    }
}


private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw BenchError("the joiner is not a member") }
    return value
}
