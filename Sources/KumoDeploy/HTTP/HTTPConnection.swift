import NIOCore
import NIOHTTP1
import NIOPosix

/// A whole HTTP/1.1 message, as the sharding front and the etcd client handle them: a head and
/// a body read to its end (bounded).
struct HTTPMessage<Head: Sendable>: Sendable {
    var head: Head
    var body: ByteBuffer
}

/// One keep-alive HTTP/1.1 client connection: requests are sent one after the other on it, each
/// answered in full before the next (the sharding front's upstream, the etcd gateway's client).
final class HTTPConnection: Sendable {
    let channel: any Channel
    private let handler: ResponseCollector

    private init(channel: any Channel, handler: ResponseCollector) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects to `host:port` within `timeout`.
    static func connect(
        host: String, port: Int, on group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: Duration = .seconds(2), maxBody: Int = 16 << 20
    ) async throws -> HTTPConnection {
        try await connecting(host: host, port: port, on: group, timeout: timeout, maxBody: maxBody).get()
    }

    /// Connects to `host:port` within `timeout`, on `group` (an event loop: the connection lives
    /// on it, with no thread hop for whoever runs there).
    static func connecting(
        host: String, port: Int, on group: any EventLoopGroup, timeout: Duration = .seconds(2), maxBody: Int = 16 << 20
    ) -> EventLoopFuture<HTTPConnection> {
        let handler = ResponseCollector(maxBody: maxBody)
        return ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
            .map { HTTPConnection(channel: $0, handler: handler) }
    }

    /// Whether the connection can take another request.
    var isUsable: Bool { channel.isActive }

    /// Sends `request` and returns the whole response; fails when the connection closes first
    /// or `timeout` passes (then the connection is closed: its answer would come too late).
    func send(_ request: HTTPMessage<HTTPRequestHead>, timeout: Duration = .seconds(10)) -> EventLoopFuture<HTTPMessage<HTTPResponseHead>> {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: HTTPMessage<HTTPResponseHead>.self)
        let channel = channel
        let handler = handler
        loop.execute {
            handler.expect(promise)
            var head = request.head
            if !head.headers.contains(name: "content-length"), request.body.readableBytes > 0 || head.method == .POST || head.method == .PUT {
                head.headers.replaceOrAdd(name: "content-length", value: "\(request.body.readableBytes)")
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if request.body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(request.body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
            let deadline = loop.scheduleTask(in: TimeAmount(timeout)) {
                promise.fail(HTTPConnectionError.timedOut)
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
        }
        return promise.futureResult
    }

    func close() {
        channel.close(promise: nil)
    }
}

enum HTTPConnectionError: Error, CustomStringConvertible {
    case closed
    case timedOut
    case tooLarge(Int)

    var description: String {
        switch self {
        case .closed: "the connection closed before the response was complete"
        case .timedOut: "no response in time"
        case .tooLarge(let limit): "the response is over \(limit) bytes"
        }
    }
}

/// Collects one response at a time into an ``HTTPMessage``. Runs on its channel's event loop
/// only: its state is touched nowhere else (`expect` is called from `loop.execute`).
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private let maxBody: Int
    private var waiting: [EventLoopPromise<HTTPMessage<HTTPResponseHead>>] = []
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    init(maxBody: Int) { self.maxBody = maxBody }

    func expect(_ promise: EventLoopPromise<HTTPMessage<HTTPResponseHead>>) {
        waiting.append(promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            guard body.readableBytes + chunk.readableBytes <= maxBody else {
                failAll(HTTPConnectionError.tooLarge(maxBody))
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let head, !waiting.isEmpty else { return }
            self.head = nil
            let promise = waiting.removeFirst()
            promise.succeed(HTTPMessage(head: head, body: body))
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(HTTPConnectionError.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        let promises = waiting
        waiting = []
        for promise in promises { promise.fail(error) }
    }
}
