import DequeModule
import Kumo
import NIOCore
import NIOPosix

/// The Redis-protocol port of a `kumo-kv` node: any client (redis-cli, redis-benchmark, a
/// library) connects to any node and may pipeline requests; replies come back in order.
public final class RESPServer: Sendable {
    public let host: String
    /// The port bound (the one chosen, when asked for port 0).
    public let port: Int
    private let listener: any Channel

    /// Listens on `host`:`port` for clients of `node`.
    public static func start(node: KVNode, host: String, port: Int) async throws -> RESPServer {
        // On the node's event loop: a request, the remote calls it makes and their replies all
        // run on one thread, with no hop between them.
        let listener = try await ServerBootstrap(group: node.system.executor.eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RESPConnection(node: node))
                }
            }
            .bind(host: host, port: port)
            .get()
        return RESPServer(host: host, port: listener.localAddress?.port ?? port, listener: listener)
    }

    private init(host: String, port: Int, listener: any Channel) {
        self.host = host
        self.port = port
        self.listener = listener
    }

    public func close() async {
        try? await listener.close()
    }
}

/// One client: its requests are parsed as they come and run concurrently (a pipeline of GETs
/// held here is answered at once, without a task each); the replies are written in request
/// order. A malformed request gets `-ERR Protocol error …` and ends this connection only.
final class RESPConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let node: KVNode
    private let parser = RESPParser()
    private var input = ByteBuffer()
    /// Replies by request number from `first`: `nil` while the request runs.
    private var replies: Deque<ByteBuffer?> = []
    private var first = 0
    private var output = ByteBuffer()
    private var closing = false
    private var paused = false
    private var flushScheduled = false
    private var context: ChannelHandlerContext?

    /// Requests in flight past which the connection stops reading until replies catch up.
    static let maximumInFlight = 4096

    init(node: KVNode) {
        self.node = node
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input.readableBytes == 0 {
            input = bytes
        } else {
            input.writeBuffer(&bytes)
        }
        while !closing {
            // GET and SET, the most frequent requests, straight from the bytes.
            if let (keyBytes, value) = parser.nextGetOrSet(&input) {
                let number = enqueue()
                guard let key = String(validating: keyBytes, as: UTF8.self) else {
                    reply(number: number, .err("keys must be UTF-8 text"))
                    continue
                }
                submit(value.map { .set(key, $0, expiresIn: nil, condition: nil) } ?? .get(key), number: number)
                continue
            }
            let request: RESPValue?
            do {
                request = try parser.next(&input)
            } catch {
                closing = true
                reply(number: enqueue(), .error("ERR \(error.message)"))
                break
            }
            guard let request else { break }
            handle(request)
        }
        startSets()
        if input.readableBytes == 0 { input.clear() } else { input.discardReadBytes() }
        if replies.count >= Self.maximumInFlight, !paused {
            paused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        writeOutput()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func enqueue() -> Int {
        replies.append(nil)
        return first + replies.count - 1
    }

    private func handle(_ request: RESPValue) {
        let number = enqueue()
        guard let command = Self.parse(request, number: number, into: self) else { return }
        submit(command, number: number)
    }

    private func submit(_ command: KVCommand, number: Int) {
        if !blocked.isEmpty || conflicts(command) {
            blocked.append((command, number))
        } else if case .set(let key, let value, nil, nil) = command {
            // Gathered, and started together at the end of this read.
            plainWrites += 1
            sets.append((number, key, value))
        } else {
            dispatch(command, number: number)
        }
    }

    /// The plain SETs of the current read, started together once it has been parsed.
    private var sets: [(number: Int, key: String, value: [UInt8])] = []

    private func startSets() {
        guard !sets.isEmpty, let context else { return }
        let batch = sets
        sets = []
        let loop = context.eventLoop
        let me = NIOLoopBound(self, eventLoop: loop)
        node.startSets(batch.map { ($0.key, $0.value) }) { results in
            let complete: @Sendable () -> Void = {
                for (set, result) in zip(batch, results) { me.value.reply(number: set.number, result) }
                me.value.plainWrites -= batch.count
                me.value.unblock()
                me.value.flushSoon()
            }
            if loop.inEventLoop { complete() } else { loop.execute(complete) }
        }
    }

    /// The general parser: the command, or `nil` after replying with its error.
    private static func parse(_ request: RESPValue, number: Int, into connection: RESPConnection) -> KVCommand? {
        switch KVCommand.parse(request) {
        case .failure(let error):
            connection.reply(number: number, .err(error.message))
            return nil
        case .success(let command):
            return command
        }
    }

    // MARK: Order within a pipeline

    /// Requests that wait for earlier requests of this connection: a read waits for the writes
    /// before it (a GET after a SET sees that SET, as at redis-server), and a write for the reads
    /// and the writes before it, except that plain SETs (and MSETs) need not wait for each other:
    /// their versions order them, the later wins wherever they meet. Counted per connection, not
    /// per key: cheap, and a pipeline of only SETs or only GETs never waits.
    private var blocked: Deque<(command: KVCommand, number: Int)> = []
    private var plainWrites = 0
    private var otherWrites = 0
    private var reads = 0

    private func conflicts(_ command: KVCommand) -> Bool {
        if plainWrites == 0, otherWrites == 0, reads == 0 { return false }
        if command.touches == .none { return false }
        if command.isPlainWrite { return otherWrites > 0 || reads > 0 }
        if command.isWrite { return true }
        return plainWrites > 0 || otherWrites > 0
    }

    private func dispatch(_ command: KVCommand, number: Int) {
        switch command {
        case .quit:
            closing = true
            reply(number: number, .ok)
        case .ping(let message):
            reply(number: number, message.map { .bulk($0) } ?? .simple("PONG"))
        case .get(let key):
            if let value = node.readHere(key) {
                reply(number: number, .bulk(value))
            } else {
                track(command, by: 1)
                run(command, number: number) { $0.track(command, by: -1) }
            }
        default:
            track(command, by: 1)
            run(command, number: number) { $0.track(command, by: -1) }
        }
    }

    private func track(_ command: KVCommand, by change: Int) {
        if command.touches == .none { return }
        if command.isPlainWrite {
            plainWrites += change
        } else if command.isWrite {
            otherWrites += change
        } else {
            reads += change
        }
    }

    /// Starts the blocked requests that no longer wait, in order, up to the first that does.
    private func unblock() {
        while let next = blocked.first, !conflicts(next.command) {
            blocked.removeFirst()
            dispatch(next.command, number: next.number)
        }
    }

    private func run(_ command: KVCommand, number: Int, finished: (@Sendable (RESPConnection) -> Void)? = nil) {
        guard let context else { return }
        let loop = context.eventLoop
        let me = NIOLoopBound(self, eventLoop: loop)
        let node = node
        // The reply, on the connection's loop, whichever thread it was made on.
        let deliver: @Sendable (RESPValue) -> Void = { result in
            let complete: @Sendable () -> Void = {
                me.value.reply(number: number, result)
                if let finished {
                    finished(me.value)
                    me.value.unblock()
                }
                me.value.flushSoon()
            }
            if loop.inEventLoop { complete() } else { loop.execute(complete) }
        }
        if node.start(command, done: deliver) { return }
        Task(executorPreference: node.system.executor) { deliver(await node.execute(command)) }
    }

    /// Stores a reply; moves every reply that is next in order to the output.
    private func reply(number: Int, _ value: RESPValue) {
        let index = number - first
        guard index >= 0, index < replies.count else { return }
        if index == 0 {
            // Next in order: straight to the output.
            value.write(to: &output)
            replies.removeFirst()
            first += 1
        } else {
            var encoded = ByteBuffer()
            value.write(to: &encoded)
            replies[index] = encoded
        }
        while let next = replies.first, var ready = next {
            output.writeBuffer(&ready)
            replies.removeFirst()
            first += 1
        }
    }

    /// Writes what is ready once the loop has run the other replies that complete now: the
    /// replies to a pipeline, finished by one batch from another node, go out in one write.
    private func flushSoon() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let me = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            me.value.flushScheduled = false
            me.value.writeOutput()
        }
    }

    private func writeOutput() {
        guard let context else { return }
        if output.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(output), promise: nil)
            output = ByteBuffer()
        }
        if paused, replies.count < Self.maximumInFlight / 4 {
            paused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
        }
        if closing, replies.isEmpty {
            context.close(promise: nil)
        }
    }
}
