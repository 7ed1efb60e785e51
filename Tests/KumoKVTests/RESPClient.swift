import KumoKV
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A Redis client over a real socket, for the tests: sends commands, reads replies in order.
final class RESPClient: Sendable {
    private let channel: any Channel
    private let inbox: ReplyInbox

    static func connect(port: Int) async throws -> RESPClient {
        let inbox = ReplyInbox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyReader(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RESPClient(channel: channel, inbox: inbox)
    }

    private init(channel: any Channel, inbox: ReplyInbox) {
        self.channel = channel
        self.inbox = inbox
    }

    /// Sends `words` as one request and waits for its reply.
    func call(_ words: String..., timeout: Duration = .seconds(20)) async throws -> RESPValue {
        try await send(raw: Self.request(words))
        do {
            return try await nextReply(timeout: timeout)
        } catch {
            throw ClientError(message: "\(words.joined(separator: " ")): \(error)")
        }
    }

    /// Sends several requests at once (a pipeline) and waits for every reply.
    func pipeline(_ requests: [[String]], timeout: Duration = .seconds(20)) async throws -> [RESPValue] {
        var buffer = ByteBuffer()
        for request in requests { buffer.writeBytes(Self.request(request)) }
        try await channel.writeAndFlush(buffer)
        var replies: [RESPValue] = []
        for _ in requests { replies.append(try await nextReply(timeout: timeout)) }
        return replies
    }

    func send(raw bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func nextReply(timeout: Duration = .seconds(20)) async throws -> RESPValue {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if let reply = inbox.next() { return reply }
            if inbox.isClosed { throw ClientError(message: "the connection closed") }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw ClientError(message: "no reply within \(timeout)")
    }

    var isClosed: Bool { inbox.isClosed }

    func close() async {
        try? await channel.close()
    }

    static func request(_ words: [String]) -> [UInt8] {
        var buffer = ByteBuffer()
        RESPValue.array(words.map { .bulk($0) }).write(to: &buffer)
        return Array(buffer.readableBytesView)
    }

    struct ClientError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

private final class ReplyInbox: Sendable {
    private let state = Mutex<(replies: [RESPValue], closed: Bool)>(([], false))
    func add(_ reply: RESPValue) { state.withLock { $0.replies.append(reply) } }
    func close() { state.withLock { $0.closed = true } }
    var isClosed: Bool { state.withLock { $0.closed && $0.replies.isEmpty } }
    func next() -> RESPValue? {
        state.withLock { $0.replies.isEmpty ? nil : $0.replies.removeFirst() }
    }
}

private final class ReplyReader: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: NIO calls a handler only on its channel's event loop; `buffer` is touched
    // nowhere else.
    typealias InboundIn = ByteBuffer
    let inbox: ReplyInbox
    private var buffer = ByteBuffer()
    private let parser = RESPParser()

    init(inbox: ReplyInbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        while let reply = try? parser.nextReply(&buffer) { inbox.add(reply) }
        buffer.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.close()
        context.fireChannelInactive()
    }
}

extension RESPValue {
    /// The bulk string's text, for comparisons.
    var text: String? {
        if case .bulk(let bytes?) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }
}
