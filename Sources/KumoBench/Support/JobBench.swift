import Kumo
import KumoJobs
import KumoTestKit
import Logging

/// A driver node that sends jobs and runs none, and worker peer processes that joined it.
struct JobBench {
    let system: ClusterSystem
    let workers: [ChildProcess]

    /// Starts the driver (pinned to CPU 0 when `options.pin`) and `count` workers (the first
    /// pinned to CPU 1), and waits until the driver sends jobs to all of them.
    static func start(_ options: CommonOptions, workers count: Int, perNode: Int? = nil) async throws -> JobBench {
        if options.pin { pinProcess(toCPU: 0) }
        var settings = options.driverSettings(name: "bench-driver")
        let secret = settings.secret
        settings.plugins.install(benchJobs(perNode: perNode, runsJobs: false))
        let system = try await ClusterSystem(settings: settings)
        var workers: [ChildProcess] = []
        do {
            for index in 0..<count {
                let cpu = options.pin ? (index == 0 ? 1 : 0) : -1
                workers.append(try await ChildProcess.launch(
                    executable: siblingExecutable(named: "kumo-bench"),
                    arguments: [
                        "peer", "--mode", "jobs", "--cpu=\(cpu)", "--secret", secret,
                        "--seed", "127.0.0.1:\(system.node.address.port)",
                    ] + (perNode.map { ["--per-node", "\($0)"] } ?? []) + options.transport.arguments,
                    readyPrefix: "kumo-bench peer ready: "))
            }
            try await Jobs.waitForWorkers(count, on: system, timeout: .seconds(20))
        } catch {
            for worker in workers { worker.kill() }
            await system.shutdown()
            throw error
        }
        return JobBench(system: system, workers: workers)
    }

    func stop() async {
        await system.shutdown()
        for worker in workers {
            worker.closeStandardInput()
            worker.terminate()
            _ = await worker.waitForExit(timeout: .seconds(5))
        }
    }
}

extension CommonOptions {
    /// Settings for a scenario's own node that its peer processes join: a fresh secret, an
    /// ephemeral port, errors only in the log, and the transport flags.
    func driverSettings(name: String) -> ClusterSettings {
        let secret = "bench-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        var settings = ClusterSettings(name: name, secret: secret)
        var logger = Logger(label: "kumo")
        logger.logLevel = .error
        settings.logger = logger
        settings.port = 0
        transport.apply(to: &settings)
        return settings
    }
}
