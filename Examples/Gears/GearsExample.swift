import ArgumentParser

/// Christie's examples with Data and Code Gears: `swift run kumo-gears` runs them in one process;
/// `kumo-gears ring-node` is one node of a ring of OS processes wired by `kumo topology`.
@main
struct GearsExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kumo-gears",
        abstract: "Christie's examples with Data and Code Gears.",
        subcommands: [LocalExamples.self, RingNode.self],
        defaultSubcommand: LocalExamples.self)
}
