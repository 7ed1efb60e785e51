import ArgumentParser
import Kumo

/// `kumo-bench concurrent`: many callers doing 64-byte round trips at once.
struct ConcurrentScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concurrent", abstract: "Concurrent callers doing 64-byte round trips.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Concurrent calling tasks.")
    var callers = 64

    @Option(help: "Seconds to measure per run.")
    var seconds = 3.0

    @Option(help: "Where the calling tasks run: loop (the node's event-loop executor) or pool (the default executor).")
    var caller = "loop"

    func validate() throws {
        guard caller == "loop" || caller == "pool" else { throw ValidationError("--caller must be loop or pool") }
    }

    func run() async throws {
        let peer = try await BenchPeer.start(options)
        let payload = [UInt8](repeating: 0xEF, count: 64)
        let target = peer.target
        let executor: (any TaskExecutor)? = caller == "loop" ? peer.system.executor : nil
        for _ in 0..<options.runs {
            let duration = UInt64(seconds * 1e9)
            // Warm up.
            for _ in 0..<2_000 { _ = try await target.echo(payload) }
            let start = nowNanoseconds()
            let end = start + duration
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<callers {
                    group.addTask(executorPreference: executor) {
                        var count = 0
                        while nowNanoseconds() < end {
                            _ = try await target.echo(payload)
                            count += 1
                        }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = Double(nowNanoseconds() - start) / 1e9
            report(options, [
                ("scenario", "concurrent"), ("calls_per_s", Double(total) / elapsed), ("callers", callers),
                ("caller", caller),
            ])
        }
        await peer.stop()
    }
}
