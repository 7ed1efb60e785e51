import ArgumentParser

@main
struct KumoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kumo",
        abstract: "Run Kumo cluster nodes and the local demo.",
        subcommands: [NodeCommand.self, ControlCommand.self, StatusCommand.self, TopologyCommand.self, KumoDeployCommand.self, ShardFrontCommand.self, DemoCommand.self]
    )
}
