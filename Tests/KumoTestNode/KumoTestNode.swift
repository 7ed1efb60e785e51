import ArgumentParser
import Kumo
import KumoJobs
import KumoNode
import KumoTestJobs
import KumoTestNodeActors

/// A program of its own that embeds the node command, for the tests that run it as an OS
/// process: `KumoTestNode node --port 0 --secret S …` runs it as a cluster node hosting a
/// ``Counter`` under the well-known name `counter`, also registered as `counters`, and running
/// the test jobs (`allTestJobs`).
@main
struct KumoTestNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "KumoTestNode",
        abstract: "A test program that runs as a Kumo node.",
        subcommands: [Node.self])

    struct Node: NodeProgram {
        @OptionGroup var options: NodeOptions

        func clusterSettings() throws -> ClusterSettings {
            var settings = try options.settings(defaultName: "test-node")
            settings.plugins.install(allTestJobs())
            return settings
        }

        func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
            let counter = try system.withActorName("counter") { Counter(actorSystem: system) }
            try await system.register(counter, as: "counters")
            return [counter]
        }
    }
}
