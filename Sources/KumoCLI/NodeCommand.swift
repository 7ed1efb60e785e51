import ArgumentParser
import Kumo
import KumoCRDT
import KumoExamples
import KumoJobs
import KumoNode

/// `kumo node`: runs one node, hosting the example actors, until SIGINT or SIGTERM.
struct NodeCommand: NodeProgram {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a cluster node until SIGINT or SIGTERM.",
        discussion: """
            The node hosts the example actors `greeter` (Greeter) and `recorder` (Recorder) under \
            those well-known names, lets other nodes spawn both, runs the example job \
            `renderTile`, and replicates state (the demo's `visitor`). Once it listens it prints one \
            line: `kumo node ready: name=NAME address=HOST:PORT incarnation=HEX`. SIGINT and SIGTERM \
            make it leave the cluster and exit with status 0; a node the cluster declares down \
            exits with status 2.
            """
    )
    static let readyLabel = "kumo node"

    @OptionGroup var options: NodeOptions

    func clusterSettings() throws -> ClusterSettings {
        var settings = try options.settings(defaultName: "node")
        settings.plugins.install(exampleJobs())
        settings.plugins.install(Replication())
        return settings
    }

    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
        system.registerSpawnable(Greeter.self) { Greeter(actorSystem: $0) }
        system.registerSpawnable(Recorder.self) { Recorder(actorSystem: $0) }
        return [
            try system.withActorName("greeter") { Greeter(actorSystem: system) },
            try system.withActorName("recorder") { Recorder(actorSystem: system) },
            try system.withActorName("visitor") { Visitor(actorSystem: system) },
        ]
    }
}

/// `kumo control`: a control node — the node others join through, which tells them about each
/// other. Once the cluster has formed it is an ordinary member: gossip is peer to peer, so the
/// cluster outlives it.
struct ControlCommand: NodeProgram {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Run a control node that other nodes join through (`kumo node --seed HOST:PORT`).",
        discussion: "Once it listens it prints `kumo control ready: name=NAME address=HOST:PORT incarnation=HEX`."
    )
    static let readyLabel = "kumo control"

    @OptionGroup var options: NodeOptions

    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] { [] }
}
