import ArgumentParser
import Foundation
import Kumo
import KumoKV
import KumoNode

/// `kumo-kv`: one node of a sharded, replicated key-value store that speaks the Redis protocol
/// on its RESP port. Any number join one cluster; clients connect to any node.
@main
struct KumoKVCommand: NodeProgram {
    static let configuration = CommandConfiguration(
        commandName: "kumo-kv",
        abstract: "Run one node of a sharded, replicated Redis-protocol key-value store.",
        discussion: """
            Once the RESP port listens it prints `kumo-kv resp: HOST:PORT`, then the ready line \
            `kumo-kv ready: name=NAME address=HOST:PORT incarnation=HEX`. Start more nodes with \
            --seed HOST:PORT (any node's cluster address) and the same --secret; connect with \
            `redis-cli -p RESP-PORT`.
            """)
    static let readyLabel = "kumo-kv"

    @OptionGroup var options: NodeOptions

    @Option(help: "The port Redis clients connect to (0 picks a free one).")
    var respPort = 6380

    @Option(help: "How many nodes hold each key.")
    var replicas = 2

    @Option(help: "A directory where the node keeps its data, so that a restarted node has it.")
    var data: String?

    func validate() throws {
        try options.validate()
        guard (0...65535).contains(respPort) else { throw ValidationError("--resp-port must be a port number") }
        guard (1...16).contains(replicas) else { throw ValidationError("--replicas must be between 1 and 16") }
    }

    func clusterSettings() throws -> ClusterSettings {
        try options.settings(defaultName: "kv")
    }

    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
        let store = try KVStore(log: data.map { try KVLog(directory: $0) })
        let node = try await KVNode.start(on: system, replicas: replicas, store: store)
        let server = try await RESPServer.start(node: node, host: options.host, port: respPort)
        print("kumo-kv resp: \(server.host):\(server.port)")
        fflush(nil)
        return node.actor.map { [$0] } ?? []
    }
}
