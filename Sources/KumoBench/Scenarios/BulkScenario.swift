import ArgumentParser
import Kumo
import Synchronization

/// `kumo-bench bulk`: a 64 MiB `[UInt8]` argument while a second caller keeps doing small round
/// trips; reports the bulk rate and the small calls' p99 during the transfers.
struct BulkScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulk", abstract: "64 MiB transfers while small round trips continue.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Bytes per transfer.")
    var bytes = 64 << 20

    @Option(help: "Transfers per run (the rate is their median).")
    var transfers = 5

    func run() async throws {
        let peer = try await BenchPeer.start(options)
        let target = peer.target
        let big = [UInt8](repeating: 0x5A, count: bytes)
        let small = [UInt8](repeating: 1, count: 64)
        _ = try await target.sink(big)  // warm up
        for _ in 0..<options.runs {
            let inBulk = Atomic<Bool>(false)
            let stop = Atomic<Bool>(false)
            let smallCaller = Task(executorPreference: peer.system.executor) {
                var samples: [UInt64] = []
                while !stop.load(ordering: .relaxed) {
                    let start = nowNanoseconds()
                    _ = try await target.echo(small)
                    if inBulk.load(ordering: .relaxed) { samples.append(nowNanoseconds() - start) }
                }
                return samples
            }
            var rates: [Double] = []
            for _ in 0..<transfers {
                inBulk.store(true, ordering: .relaxed)
                let start = nowNanoseconds()
                let received = try await target.sink(big)
                let elapsed = Double(nowNanoseconds() - start) / 1e9
                inBulk.store(false, ordering: .relaxed)
                guard received == big.count else { throw BenchError("peer got \(received) of \(big.count) bytes") }
                rates.append(Double(big.count) / elapsed / 1e9)
                try await Task.sleep(for: .milliseconds(20))
            }
            stop.store(true, ordering: .relaxed)
            let summary = LatencySummary(nanoseconds: try await smallCaller.value)
            report(options, [
                ("scenario", "bulk"), ("gb_per_s", median(rates)), ("small_p99_us_during_bulk", summary.p99),
                ("small_p50_us_during_bulk", summary.p50),
                ("small_calls_during_bulk", summary.count), ("bytes", bytes),
            ])
        }
        await peer.stop()
    }
}
