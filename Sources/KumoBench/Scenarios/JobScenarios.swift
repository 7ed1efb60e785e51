import ArgumentParser
import Kumo
import KumoJobs

/// `kumo-bench job-rtt`: sequential remote round trips of a trivial job between two processes.
struct JobRTTScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job-rtt", abstract: "Sequential remote round trips of a trivial @Job between two processes.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Measured round trips per run.")
    var samples = 50_000

    @Option(help: "Round trips before measuring.")
    var warmup = 5_000

    func run() async throws {
        let bench = try await JobBench.start(options, workers: 1)
        let system = bench.system
        for _ in 0..<options.runs {
            let (samples, warmup) = (self.samples, self.warmup)
            // The caller runs on the node's event loop, as `rtt`'s does by default.
            let work = Task(executorPreference: system.executor) {
                try await Jobs.withCluster(system) {
                    for index in 0..<warmup { _ = try await benchEchoRemote(index) }
                    var times = [UInt64](repeating: 0, count: samples)
                    for index in 0..<samples {
                        let start = nowNanoseconds()
                        _ = try await benchEchoRemote(index)
                        times[index] = nowNanoseconds() - start
                    }
                    return times
                }
            }
            let summary = LatencySummary(nanoseconds: try await work.value)
            report(options, [
                ("scenario", "job-rtt"), ("p50_us", summary.p50), ("p99_us", summary.p99), ("samples", summary.count),
            ])
        }
        await bench.stop()
    }
}

/// `kumo-bench fanout`: a trivial job fanned out from one process over two worker processes.
struct FanoutScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout", abstract: "A trivial @Job fanned out from one process over worker processes.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Jobs per fan-out.")
    var jobs = 100_000

    @Option(help: "Worker processes.")
    var workers = 2

    @Option(help: "Calls in flight at once (FanoutOptions.maxInFlight).")
    var maxInFlight = 4096

    @Option(help: "Calls per message (FanoutOptions.batchSize; 0: chosen from the fan-out).")
    var batchSize = 0

    func run() async throws {
        let bench = try await JobBench.start(options, workers: workers)
        let system = bench.system
        let fanout = FanoutOptions(maxInFlight: maxInFlight, batchSize: batchSize > 0 ? batchSize : nil)
        let arguments = Array(0..<jobs)
        // One small fan-out first, so connections and code are warm.
        _ = try await Jobs.withCluster(system) { try await benchEchoRemoteFanout(Array(0..<min(jobs, 10_000)), options: fanout) }
        for _ in 0..<options.runs {
            let start = nowNanoseconds()
            let results = try await Jobs.withCluster(system) { try await benchEchoRemoteFanout(arguments, options: fanout) }
            let seconds = Double(nowNanoseconds() - start) / 1e9
            guard results == arguments else { throw BenchError("the fan-out returned wrong results") }
            report(options, [
                ("scenario", "fanout"), ("jobs", jobs), ("jobs_per_s", Int(Double(jobs) / seconds)),
                ("wall_s", (seconds * 1000).rounded() / 1000), ("workers", workers),
            ])
        }
        await bench.stop()
    }
}

/// `kumo-bench fanout-sleep`: jobs that each sleep, capped per node, fanned out over workers.
struct FanoutSleepScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout-sleep", abstract: "Sleeping @Jobs, capped per node, fanned out over worker processes.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Jobs per fan-out.")
    var jobs = 5000

    @Option(help: "How long each job sleeps, in milliseconds.")
    var ms = 20

    @Option(help: "Jobs that run at once on each worker (the job's maxConcurrentPerNode).")
    var perNode = 50

    @Option(help: "Worker processes.")
    var workers = 2

    func run() async throws {
        let bench = try await JobBench.start(options, workers: workers, perNode: perNode)
        let system = bench.system
        let arguments = Array(repeating: ms, count: jobs)
        let ideal = Double(jobs) * Double(ms) / 1000 / Double(perNode * workers)
        for _ in 0..<options.runs {
            let start = nowNanoseconds()
            let results = try await Jobs.withCluster(system) { try await benchSleepRemoteFanout(arguments) }
            let seconds = Double(nowNanoseconds() - start) / 1e9
            guard results.count == jobs else { throw BenchError("the fan-out returned \(results.count) results") }
            let split = Dictionary(grouping: results, by: { $0 }).values.map(\.count).sorted(by: >)
            report(options, [
                ("scenario", "fanout-sleep"), ("wall_s", (seconds * 1000).rounded() / 1000),
                ("ideal_s", (ideal * 1000).rounded() / 1000), ("efficiency", (ideal / seconds * 1000).rounded() / 1000),
                ("jobs", jobs), ("per_node", perNode), ("workers", workers),
                ("split", split.map(String.init).joined(separator: "/")),
            ])
        }
        await bench.stop()
    }
}
