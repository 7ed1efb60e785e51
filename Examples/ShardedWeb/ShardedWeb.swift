import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kumo
import KumoDeploy
import KumoNode
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Metaparticle's sharded web server, in Swift: cluster nodes that serve HTTP, behind a sharding
/// front that sends each user's requests (`/users/NAME/…`) to one shard. Its deployment is
/// described below, in its own code: `kumo-sharded-web deploy manifests --out k8s/`.
@main
struct ShardedWeb: AsyncParsableCommand, DeployableProgram {
    static let configuration = CommandConfiguration(
        commandName: "kumo-sharded-web",
        abstract: "Metaparticle's sharded web server: nodes serving HTTP behind a sharding front.",
        subcommands: [Local.self, Node.self, DeployCommand<ShardedWeb>.self],
        defaultSubcommand: Local.self)

    /// How it runs on Kubernetes: three nodes, three shards, a public front.
    static let deployment = Deployment.shardedWeb

    /// `node`: one cluster node that serves HTTP on `--http-port`.
    struct Node: NodeProgram {
        static let configuration = CommandConfiguration(commandName: "node", abstract: "Run one node that serves HTTP.")
        static let readyLabel = "kumo-sharded-web"

        @OptionGroup var options: NodeOptions

        @Option(help: "The port it serves HTTP on (0 picks a free one).")
        var httpPort = 8081

        func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
            let server = try await WebServer.start(name: system.settings.name, host: options.host, port: httpPort)
            print("kumo-sharded-web http: \(options.host):\(server.port)")
            fflush(nil)
            return []
        }
    }

    /// `local` (the default): three servers and a front in this process, requests for a few
    /// users, one server stopped, the same requests again.
    struct Local: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "local", abstract: "Run three servers and a sharding front on loopback and show where requests go.")

        @Option(help: "The front's port (0 picks a free one).")
        var port = 0

        @Flag(help: "Keep serving after the demonstration, until Ctrl-C.")
        var serve = false

        func run() async throws {
            var servers: [WebServer] = []
            for index in 0..<3 { servers.append(try await WebServer.start(name: "web\(index)", host: "127.0.0.1", port: 0)) }
            var logger = Logger(label: "kumo.shard-front")
            logger.logLevel = .warning
            var configuration = ShardFront.Configuration(
                port: port, pattern: try ShardPattern(Deployment.shardedWeb.shards?.pattern ?? "^/users/([^/?]+)"),
                shardCount: 3, backends: servers.map { "127.0.0.1:\($0.port)" }, logger: logger)
            configuration.probeInterval = .milliseconds(100)
            let front = try await ShardFront.start(configuration)
            print("sharding front on 127.0.0.1:\(front.port), 3 shards over \(servers.map { "web\($0.name.suffix(1))@\($0.port)" }.joined(separator: ", "))")
            let users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
            for user in users { print("  /users/\(user)/profile -> \(try await get(front.port, "/users/\(user)/profile"))") }
            // Stop the server of alice's shard: its shards move to the others.
            let map = front.map
            let busiest = map.backend(for: map.shard(of: "alice")) ?? ""
            guard let stopped = servers.firstIndex(where: { "127.0.0.1:\($0.port)" == busiest }) else { throw ValidationError("no server serves alice") }
            print("stopping \(servers[stopped].name), the server of alice's shard: its shards move")
            await servers[stopped].close()
            servers.remove(at: stopped)
            try await Task.sleep(for: .milliseconds(400))
            for user in users { print("  /users/\(user)/profile -> \(try await get(front.port, "/users/\(user)/profile"))") }
            if serve {
                print("serving: curl http://127.0.0.1:\(front.port)/users/NAME (Ctrl-C to stop)")
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            }
            await front.close()
            for server in servers { await server.close() }
        }

        private func get(_ port: Int, _ path: String) async throws -> String {
            let (data, response) = try await URLSession.shared.data(from: try url(port, path))
            let shard = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "x-kumo-shard") ?? "?"
            return "shard \(shard): " + String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        private func url(_ port: Int, _ path: String) throws -> URL {
            guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw ValidationError("bad path \(path)") }
            return url
        }
    }
}

/// A web server that says who served the request: `served by NAME: PATH`.
final class WebServer: Sendable {
    let name: String
    let port: Int
    private let channel: any Channel

    private init(name: String, port: Int, channel: any Channel) {
        self.name = name
        self.port = port
        self.channel = channel
    }

    static func start(name: String, host: String, port: Int) async throws -> WebServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(name: name))
                }
            }
            .bind(host: host, port: port).get()
        return WebServer(name: name, port: channel.localAddress?.port ?? port, channel: channel)
    }

    func close() async {
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let name: String

        init(name: String) { self.name = name }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let request) = unwrapInboundIn(data) else { return }
            let body = ByteBuffer(string: "served by \(name): \(request.uri)\n")
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: "\(body.readableBytes)")
            headers.add(name: "x-served-by", value: name)
            if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            if request.isKeepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
