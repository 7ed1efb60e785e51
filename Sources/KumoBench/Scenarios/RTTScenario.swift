import ArgumentParser
import Kumo

/// `kumo-bench rtt`: sequential round trips of a distributed func taking and returning 64 bytes.
struct RTTScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtt", abstract: "Sequential round trips of a 64-byte distributed func call.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Measured round trips per run.")
    var samples = 50_000

    @Option(help: "Round trips before measuring.")
    var warmup = 5_000

    @Option(help: "Where the calling task runs: loop (the node's event-loop executor) or pool (the default executor).")
    var caller = "loop"

    func validate() throws {
        guard caller == "loop" || caller == "pool" else { throw ValidationError("--caller must be loop or pool") }
    }

    func run() async throws {
        let peer = try await BenchPeer.start(options)
        let payload = [UInt8](repeating: 0xAB, count: 64)
        let target = peer.target
        for _ in 0..<options.runs {
            let (samples, warmup) = (self.samples, self.warmup)
            let work = Task(executorPreference: caller == "loop" ? peer.system.executor : nil) {
                for _ in 0..<warmup { _ = try await target.echo(payload) }
                var times = [UInt64](repeating: 0, count: samples)
                for index in 0..<samples {
                    let start = nowNanoseconds()
                    _ = try await target.echo(payload)
                    times[index] = nowNanoseconds() - start
                }
                return times
            }
            let summary = LatencySummary(nanoseconds: try await work.value)
            report(options, [
                ("scenario", "rtt"), ("p50_us", summary.p50), ("p99_us", summary.p99), ("samples", summary.count),
                ("caller", caller),
            ])
        }
        await peer.stop()
    }
}
