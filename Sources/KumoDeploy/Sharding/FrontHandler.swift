import Kumo
import DequeModule
import NIOCore
import NIOHTTP1

/// One client connection to the sharding front: its requests are read whole, routed in turn
/// (responses keep the requests' order) and sent over keep-alive connections to the backends,
/// made on this connection's event loop. Runs on that loop only.
final class FrontHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let front: ShardFront
    private var upstreams: [String: HTTPConnection] = [:]
    private var reading: HTTPMessage<HTTPRequestHead>?
    private var discarding = false
    private var queue = Deque<HTTPMessage<HTTPRequestHead>>()
    private var busy = false
    private var closed = false

    init(front: ShardFront) { self.front = front }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            reading = HTTPMessage(head: head, body: context.channel.allocator.buffer(capacity: 0))
            discarding = false
        case .body(var chunk):
            guard !discarding, reading != nil else { return }
            if (reading?.body.readableBytes ?? 0) + chunk.readableBytes > front.configuration.maxBody {
                // Answered in turn, after the requests before it; the connection then closes.
                discarding = true
                reading?.head.headers.replaceOrAdd(name: "x-kumo-too-large", value: "1")
                return
            }
            reading?.body.writeBuffer(&chunk)
        case .end:
            guard let request = reading else { return }
            reading = nil
            queue.append(request)
            next(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        for upstream in upstreams.values { upstream.close() }
        upstreams = [:]
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Routing

    private func next(context: ChannelHandlerContext) {
        guard !busy, !closed, let request = queue.popFirst() else { return }
        busy = true
        if request.head.headers.contains(name: "x-kumo-too-large") {
            return respond(.payloadTooLarge, "a request body is at most \(front.configuration.maxBody) bytes", to: request, context: context, close: true)
        }
        let path = String(request.head.uri.prefix { $0 != "?" })
        if path == "/_kumo/shards" { return respond(.ok, assignmentJSON(), to: request, context: context, type: "application/json") }
        let map = front.map
        let shard = map.shard(of: front.configuration.pattern.key(in: path) ?? path[...])
        route(request, shard: shard, attempt: 0, context: context)
    }

    private func route(_ request: HTTPMessage<HTTPRequestHead>, shard: Int, attempt: Int, context: ChannelHandlerContext) {
        guard let backend = front.map.backend(for: shard) else {
            return respond(.serviceUnavailable, "no backend is up for shard \(shard)", to: request, context: context)
        }
        let reused = upstreams[backend]?.isUsable == true
        connection(to: backend, loop: context.eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .failure:
                // Nothing was sent: the shard goes to its next backend.
                self.upstreams[backend] = nil
                self.front.markDown(backend)
                guard attempt < self.front.configuration.backends.count else {
                    return self.respond(.serviceUnavailable, "no backend answers for shard \(shard)", to: request, context: context)
                }
                self.route(request, shard: shard, attempt: attempt + 1, context: context)
            case .success(let upstream):
                upstream.send(Self.forwarded(request)).assumeIsolated().whenComplete { result in
                    switch result {
                    case .success(let response):
                        if response.head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                            upstream.close()
                            self.upstreams[backend] = nil
                        }
                        self.relay(response, shard: shard, backend: backend, to: request, context: context)
                    case .failure(let error):
                        upstream.close()
                        self.upstreams[backend] = nil
                        // A kept-alive connection the backend had closed: a read may be sent again.
                        if reused, case .closed? = error as? HTTPConnectionError, [.GET, .HEAD].contains(request.head.method), attempt == 0 {
                            return self.route(request, shard: shard, attempt: attempt + 1, context: context)
                        }
                        self.respond(.badGateway, "backend \(backend) of shard \(shard) failed: \(error)", to: request, context: context)
                    }
                }
            }
        }
    }

    private func connection(to backend: String, loop: any EventLoop) -> EventLoopFuture<HTTPConnection> {
        if let upstream = upstreams[backend], upstream.isUsable { return loop.makeSucceededFuture(upstream) }
        guard let address = front.addresses[backend] else {
            return loop.makeFailedFuture(DeploymentError(field: "backend", problem: "'\(backend)' is not HOST:PORT"))
        }
        let connecting = HTTPConnection.connecting(host: address.host, port: address.port, on: loop, timeout: .seconds(1), maxBody: front.configuration.maxBody)
        return connecting.assumeIsolated().map { upstream in
            self.upstreams[backend] = upstream
            return upstream
        }.nonisolated()
    }

    // MARK: Responses

    private static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"]

    private static func forwarded(_ request: HTTPMessage<HTTPRequestHead>) -> HTTPMessage<HTTPRequestHead> {
        var head = HTTPRequestHead(version: .http1_1, method: request.head.method, uri: request.head.uri)
        for (name, value) in request.head.headers where !hopByHop.contains(name.lowercased()) { head.headers.add(name: name, value: value) }
        if request.body.readableBytes > 0 || [.POST, .PUT, .PATCH].contains(request.head.method) {
            head.headers.add(name: "content-length", value: "\(request.body.readableBytes)")
        }
        return HTTPMessage(head: head, body: request.body)
    }

    private func relay(_ response: HTTPMessage<HTTPResponseHead>, shard: Int, backend: String, to request: HTTPMessage<HTTPRequestHead>, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        for (name, value) in response.head.headers where !Self.hopByHop.contains(name.lowercased()) { headers.add(name: name, value: value) }
        headers.add(name: "x-kumo-shard", value: "\(shard)")
        headers.add(name: "x-kumo-backend", value: backend)
        write(HTTPResponseHead(version: request.head.version, status: response.head.status, headers: headers), body: response.body, to: request, context: context, close: false)
    }

    private func respond(
        _ status: HTTPResponseStatus, _ text: String, to request: HTTPMessage<HTTPRequestHead>, context: ChannelHandlerContext,
        type: String = "text/plain; charset=utf-8", close: Bool = false
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: type)
        write(HTTPResponseHead(version: request.head.version, status: status, headers: headers), body: ByteBuffer(string: text + "\n"), to: request, context: context, close: close)
    }

    private func write(_ head: HTTPResponseHead, body: ByteBuffer, to request: HTTPMessage<HTTPRequestHead>, context: ChannelHandlerContext, close: Bool) {
        guard !closed else { return }
        var head = head
        let keepAlive = request.head.isKeepAlive && !close
        head.headers.replaceOrAdd(name: "content-length", value: "\(request.head.method == .HEAD ? 0 : body.readableBytes)")
        if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.head.method != .HEAD, body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        busy = false
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            next(context: context)
        } else {
            closed = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func assignmentJSON() -> String {
        let map = front.map
        let shards = (0..<map.shardCount).map { shard in
            "\"\(shard)\":" + (map.backend(for: shard).map { "\"\($0)\"" } ?? "null")
        }
        let live = map.live.map { "\"\($0)\"" }.joined(separator: ",")
        return "{\"shards\":{\(shards.joined(separator: ","))},\"live\":[\(live)]}"
    }
}
