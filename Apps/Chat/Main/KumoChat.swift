import ArgumentParser
import Foundation
import Kumo
import KumoChatServer
import KumoNode

/// `kumo-chat`: one chat server node. Any number join one cluster, with no master; clients
/// connect with `nc HOST CHAT-PORT` to any of them.
@main
struct KumoChat: NodeProgram {
    static let configuration = CommandConfiguration(
        commandName: "kumo-chat",
        abstract: "Run one chat server node: clients connect with nc to its chat port.",
        discussion: """
            Once the chat port listens it prints `kumo-chat chat: HOST:PORT`, then the ready line \
            `kumo-chat ready: name=NAME address=HOST:PORT incarnation=HEX`. Start more servers \
            with --seed HOST:PORT (any server's cluster address) and the same --secret.
            """)
    static let readyLabel = "kumo-chat"

    @OptionGroup var options: NodeOptions

    @Option(help: "The port clients connect to (0 picks a free one).")
    var chatPort = 7600

    @Option(help: "The longest line a client may send, in bytes.")
    var lineLimit = ChatServer.defaultLineLimit

    func validate() throws {
        try options.validate()
        guard (0...65535).contains(chatPort) else { throw ValidationError("--chat-port must be a port number") }
        guard (16...1 << 20).contains(lineLimit) else { throw ValidationError("--line-limit must be between 16 and 1048576") }
    }

    func clusterSettings() throws -> ClusterSettings {
        try options.settings(defaultName: "chat")
    }

    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
        let server = try await ChatServer.start(on: system, host: options.host, port: chatPort, lineLimit: lineLimit)
        print("kumo-chat chat: \(server.host):\(server.port)")
        fflush(nil)
        return [server.actor]
    }
}
