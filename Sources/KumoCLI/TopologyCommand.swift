import ArgumentParser
import Foundation
import Kumo
import KumoGears
import KumoNode

/// `kumo topology`: a node that runs a Topology Manager for Code Gear Managers.
struct TopologyCommand: NodeProgram {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Run a Topology Manager: Code Gear Managers that join it get names and links to their neighbours.",
        discussion: """
            With --graph, the nodes of a Graphviz DOT graph are the names managers get in join order, \
            and an edge `node0 -> node1 [label="right"]` makes node1's DGM appear to node0 as "right". \
            Without a graph, managers form a tree: "parent", and "child0", "child1", … up to \
            --fan-out. Managers join with CodeGearManager.join(topology:) from a node started with \
            --seed at this node's address. A graph with a syntax error is refused with its line \
            (exit status 64). Once it listens it prints \
            `kumo topology ready: name=NAME address=HOST:PORT incarnation=HEX`.
            """
    )
    static let readyLabel = "kumo topology"

    @OptionGroup var options: NodeOptions

    @Option(help: "A Graphviz DOT file: its nodes are the managers' names, its edge labels the DGM names they see.")
    var graph: String?

    @Option(help: "Without a graph: how many children each manager of the tree has (default 2).")
    var fanOut = 2

    @Option(help: "The Topology Manager's name on this node (managers join it by this name).")
    var manager = "main"

    func validate() throws {
        try options.validate()
        _ = try shape()
    }

    func clusterSettings() throws -> ClusterSettings {
        try options.settings(defaultName: "topology")
    }

    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
        let topology = try await TopologyManager(shape(), name: manager, system: system)
        system.logger.info("topology manager running", metadata: ["kumo.topology": "\(topology.id)"])
        return []
    }

    private func shape() throws -> TopologyPlan.Shape {
        guard let graph else {
            guard fanOut >= 1, fanOut <= 1024 else { throw ValidationError("--fan-out must be between 1 and 1024") }
            return .tree(fanOut: fanOut)
        }
        let text: String
        do {
            text = try String(contentsOfFile: graph, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read the graph \(graph): \(error.localizedDescription)")
        }
        do {
            let shape = TopologyPlan.Shape.graph(try DOTGraph(parsing: text))
            _ = try TopologyPlan(shape)
            return shape
        } catch {
            throw ValidationError("\(graph): \(error.line > 0 ? "line \(error.line): " : "")\(error.message)")
        }
    }
}
