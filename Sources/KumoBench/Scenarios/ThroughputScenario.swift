import ArgumentParser
import Kumo

/// `kumo-bench throughput`: one-way 64-byte messages to a port on the peer, pipelined; the peer
/// counts until all arrived.
struct ThroughputScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput", abstract: "One-way 64-byte messages, pipelined, counted by the receiver.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Messages per run.")
    var messages = 2_000_000

    @Option(help: "Where the sending task runs: loop or pool.")
    var caller = "pool"

    func validate() throws {
        guard caller == "loop" || caller == "pool" else { throw ValidationError("--caller must be loop or pool") }
    }

    func run() async throws {
        let peer = try await BenchPeer.start(options)
        let payload = [UInt8](repeating: 0xCD, count: 64)
        let target = peer.target
        for _ in 0..<options.runs {
            let messages = self.messages
            let port = try await target.openSink(expected: messages)
            let work = Task(executorPreference: caller == "loop" ? peer.system.executor : nil) {
                let start = nowNanoseconds()
                for _ in 0..<messages { try await port.send(payload) }
                let received = try await target.sinkDone()
                let elapsed = nowNanoseconds() - start
                return (received, elapsed)
            }
            let (received, elapsed) = try await work.value
            guard received == messages else { throw BenchError("peer counted \(received) of \(messages) messages") }
            report(options, [
                ("scenario", "throughput"), ("msgs_per_s", Double(messages) / (Double(elapsed) / 1e9)),
                ("messages", messages), ("caller", caller),
            ])
        }
        await peer.stop()
    }
}
