import ArgumentParser
import Kumo
import KumoJobs
import KumoNode
import KumoTestKit

/// One binary, two roles: `kumo-pythagorean` drives (it starts two workers, running this same
/// binary as `kumo-pythagorean node`, and calls the jobs in every variant); `kumo-pythagorean
/// node --seed HOST:PORT …` is a worker that runs them.
@main
struct PythagoreanExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kumo-pythagorean",
        abstract: "lucidity's square and pythagorean jobs, in every variant, over a local cluster.",
        subcommands: [Drive.self, Worker.self],
        defaultSubcommand: Drive.self)
}

/// The jobs every node of the example installs.
func pythagoreanJobs(runsJobs: Bool) -> Jobs {
    Jobs(squareJob, pythagoreanJob, runsJobs: runsJobs)
}

/// `kumo-pythagorean node`: a worker node running the jobs.
struct Worker: NodeProgram {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Run a worker node.")

    @OptionGroup var options: NodeOptions

    func clusterSettings() throws -> ClusterSettings {
        var settings = try options.settings(defaultName: "worker")
        settings.plugins.install(pythagoreanJobs(runsJobs: true))
        return settings
    }

    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] { [] }
}

/// `kumo-pythagorean drive` (the default): starts two workers and calls every variant.
struct Drive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drive", abstract: "Start two workers and run the jobs.")

    @Option(help: "Worker processes to start.")
    var workers = 2

    func run() async throws {
        let secret = "pythagorean-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        var settings = ClusterSettings(name: "driver", secret: secret)
        settings.port = 0
        settings.logger.logLevel = .error
        settings.plugins.install(pythagoreanJobs(runsJobs: false))
        let system = try await ClusterSystem(settings: settings)
        var children: [ChildProcess] = []
        defer { for child in children { child.kill() } }
        for index in 0..<workers {
            children.append(try await ChildProcess.launch(
                executable: siblingExecutable(named: "kumo-pythagorean"),
                arguments: [
                    "node", "--name", "worker\(index)", "--port", "0", "--secret", secret, "--log-level", "error",
                    "--seed", "\(system.node.address)",
                ],
                readyPrefix: "node ready: "))
        }
        try await Jobs.waitForWorkers(workers, on: system)
        print("driver \(system.node.address) with \(workers) workers")

        try await Jobs.withCluster(system) {
            print("square(3)                      = \(square(3))   (the function itself)")
            print("squareLocal(3)                 = \(try await squareLocal(3))   (a new task on this node)")
            print("squareRemote(3)                = \(try await squareRemote(3))   (on a worker)")
            let local = squareLocalAsync(4)
            let remote = squareRemoteAsync(5)
            print("squareRemoteAsync(5).poll()    = \(try remote.poll().map(String.init) ?? "nil   (still running)")")
            print("squareLocalAsync(4).value      = \(try await local.value)")
            print("squareRemoteAsync(5).value     = \(try await remote.value)")
            print("squareRemoteFanout(1...10)     = \(try await squareRemoteFanout(Array(1...10)))")
            print("pythagoreanRemote(a: 3, b: 4)  = \(try await pythagoreanRemote(a: 3, b: 4))")
            let triangles = [(3, 4), (5, 12), (8, 15), (7, 24), (20, 21)]
            print("pythagoreanRemoteFanout(…)     = \(try await pythagoreanRemoteFanout(triangles.map { (a: $0.0, b: $0.1) }))")
            print("pythagoreanRemoteFanoutStream, in the order the results come:")
            for await item in pythagoreanRemoteFanoutStream(triangles.map { (a: $0.0, b: $0.1) }) {
                print("  #\(item.index) \(triangles[item.index]) → \(try item.result.get())")
            }
        }
        await system.shutdown()
    }
}
