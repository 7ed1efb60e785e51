import Kumo
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A node's health over HTTP, for Kubernetes' probes and its preStop hook (`--health-port`):
///
/// - `GET /healthz` (liveness): `200 ok` while the node runs; `503` once the cluster has downed it
///   (it is about to exit and be restarted).
/// - `GET /readyz` (readiness): `200 up` when the node is an up member in its own view of the
///   cluster; `503` with its status otherwise (joining, leaving, down).
/// - `GET /leave` (the preStop hook): the node leaves the cluster gracefully and answers once it
///   has, so that the SIGTERM that follows finds nothing left to hand over.
///
/// Anything else is `404`. The endpoint answers on its own event loop thread and reads only the
/// node's public state.
public final class HealthEndpoint: Sendable {
    /// The port it listens on (the one chosen when asked for 0).
    public let port: Int
    private let channel: any Channel

    /// Listens on `host:port` (0 picks a free port) for `system`'s probes.
    public init(system: ClusterSystem, host: String, port: Int) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HealthHandler(system: system))
                }
            }
            .bind(host: host, port: port)
            .get()
        self.channel = channel
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening.
    public func close() async {
        try? await channel.close()
    }

    /// What the endpoint answers to `path`: a status and a one-line body.
    static func answer(_ path: String, system: ClusterSystem) async -> (HTTPResponseStatus, String) {
        switch path {
        case "/healthz", "/livez":
            return system.isDowned ? (.serviceUnavailable, "down") : (.ok, "ok")
        case "/readyz":
            let status = await system.members().first { $0.node == system.node }?.status
            guard let status else { return (.serviceUnavailable, "not a member") }
            return status == .up ? (.ok, "up") : (.serviceUnavailable, "\(status)")
        case "/leave":
            await system.leave()
            return (.ok, "left")
        default:
            return (.notFound, "not found: \(path)")
        }
    }
}

/// One HTTP connection to the health endpoint: each request answered in turn.
private final class HealthHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let system: ClusterSystem

    init(system: ClusterSystem) { self.system = system }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let path = String(head.uri.prefix { $0 != "?" })
        let keepAlive = head.isKeepAlive
        let loop = context.eventLoop
        let bound = NIOLoopBound((context, self), eventLoop: loop)
        let system = system
        let promise = loop.makePromise(of: (HTTPResponseStatus, String).self)
        promise.completeWithTask { await HealthEndpoint.answer(path, system: system) }
        promise.futureResult.whenSuccess { status, body in
            let (context, handler) = bound.value
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            headers.add(name: "content-length", value: "\(body.utf8.count + 1)")
            if !keepAlive { headers.add(name: "connection", value: "close") }
            let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
            context.write(handler.wrapOutboundOut(.head(response)), promise: nil)
            context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body + "\n")))), promise: nil)
            if keepAlive {
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in
                    bound.value.0.close(promise: nil)
                }
            }
        }
    }
}
