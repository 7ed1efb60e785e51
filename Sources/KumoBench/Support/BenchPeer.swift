import Foundation
import Kumo
import KumoTestKit
import Logging

/// A started peer process and, for Kumo scenarios, this side's node and the peer's `bench` actor.
struct BenchPeer {
    let process: ChildProcess
    let system: ClusterSystem
    let target: BenchTarget

    /// Starts `kumo-bench peer` (pinned to CPU 1 when `options.pin`), starts a local node (this
    /// process pinned to CPU 0), and connects them.
    static func start(_ options: CommonOptions) async throws -> BenchPeer {
        let pin = options.pin
        if pin { pinProcess(toCPU: 0) }
        let secret = "bench-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let process = try await ChildProcess.launch(
            executable: siblingExecutable(named: "kumo-bench"),
            arguments: ["peer", "--mode", "kumo", "--cpu=\(pin ? 1 : -1)", "--secret", secret] + options.transport.arguments,
            readyPrefix: "kumo-bench peer ready: ")
        let parts = process.readyLine.split(separator: " ")
        guard parts.count == 2, let port = Int(parts[0]), let incarnation = UInt64(parts[1]) else {
            throw BenchError("unexpected peer ready line '\(process.readyLine)'")
        }
        var settings = ClusterSettings(name: "bench-driver", secret: secret)
        var logger = Logger(label: "kumo")
        logger.logLevel = .error
        settings.logger = logger
        options.transport.apply(to: &settings)
        let system = try await ClusterSystem(settings: settings)
        let node = NodeID(address: NodeAddress(host: "127.0.0.1", port: port), incarnation: incarnation)
        _ = try await system.connect(to: node.address)
        let target = try BenchTarget.resolve(id: .named("bench", on: node), using: system)
        return BenchPeer(process: process, system: system, target: target)
    }

    func stop() async {
        await system.shutdown()
        process.terminate()
        _ = await process.waitForExit(timeout: .seconds(5))
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
