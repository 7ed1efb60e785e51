import ArgumentParser
import Kumo

/// A command that runs the program it is part of as a cluster node, with the flags of
/// `kumo node` (``NodeOptions``), hosting the program's own actors.
///
/// A program embeds it as a subcommand of its own `@main` command:
///
/// ```swift
/// @main
/// struct MyApp: AsyncParsableCommand {
///     static let configuration = CommandConfiguration(subcommands: [Node.self])
///
///     struct Node: NodeProgram {
///         @OptionGroup var options: NodeOptions
///
///         func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
///             [try system.withActorName("counter") { Counter(actorSystem: system) }]
///         }
///     }
/// }
/// ```
///
/// `myapp node --seed HOST:PORT --secret S` then starts a ``ClusterSystem`` from the flags, calls
/// ``setUp(_:)``, prints the ready line (see ``readyLabel``) on standard output and runs until:
/// - SIGTERM or SIGINT: the node leaves the cluster gracefully and the program exits with status 0;
/// - the cluster declares the node down: it shuts down and the program exits with status 2, so
///   that a supervisor restarts it as a new incarnation.
///
/// Every requirement but ``options`` and ``setUp(_:)`` has a default: the command is named
/// `node`, the node is named after the command unless `--name` is given, and
/// ``clusterSettings()`` is ``NodeOptions/settings(defaultName:)``.
public protocol NodeProgram: AsyncParsableCommand {
    /// The node's flags, normally `@OptionGroup var options: NodeOptions`.
    var options: NodeOptions { get }

    /// What the ready line starts with: once the node listens, the command prints exactly one
    /// line on standard output, `LABEL ready: name=NAME address=HOST:PORT incarnation=HEX`, and
    /// flushes it, so that whatever started the process (a test, a supervisor, a script) knows
    /// where it listens. Default: the command's name (`node`); `kumo node` uses `kumo node`.
    static var readyLabel: String { get }

    /// The node's settings. Default: ``NodeOptions/settings(defaultName:)`` with the command's
    /// name; implement it to adjust the settings the flags do not cover.
    func clusterSettings() throws -> ClusterSettings

    /// Hosts the program's actors on the started node (with well-known names, registrations,
    /// spawnable types), before the ready line. What it returns is kept alive while the node
    /// runs. When it throws, the node shuts down and the command fails with that error.
    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor]
}

extension NodeProgram {
    /// `node`, with an abstract and a discussion that describe the node command (and its ready
    /// line with the default ``readyLabel``).
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "node",
            abstract: "Run this program as a cluster node until SIGINT or SIGTERM.",
            discussion: """
                Once the node listens it prints one line on standard output, \
                `node ready: name=NAME address=HOST:PORT incarnation=HEX`. SIGINT and SIGTERM \
                make it leave the cluster gracefully and exit with status 0; a node the cluster declares \
                down exits with status 2.
                """)
    }

    /// The command's name (from ``configuration``), or `node`.
    public static var readyLabel: String { configuration.commandName ?? "node" }

    public func clusterSettings() throws -> ClusterSettings {
        try options.settings(defaultName: Self.configuration.commandName ?? "node")
    }

    /// Runs the node: see ``NodeProgram``.
    public func run() async throws {
        try await runNode(try clusterSettings(), readyLabel: Self.readyLabel, healthPort: options.healthPort) { system in
            try await setUp(system)
        }
    }
}
