import Kumo
import NIOCore
import NIOPosix
import Synchronization

/// A chat server on a cluster node: clients connect to its chat port with `nc` or telnet, and
/// talk with the clients of every chat server of the cluster. Servers join and leave at run
/// time; there is no master.
public final class ChatServer: Sendable {
    /// The chat port's address.
    public let host: String
    /// The chat port (the one bound, when asked for port 0).
    public let port: Int
    private let hub: ChatHub
    private let listener: any Channel
    private let peer: ChatPeer

    /// The longest line a client may send, in bytes (default 4096).
    public static let defaultLineLimit = 4096
    /// Bytes written to a client and not yet taken by its socket, past which the client is
    /// disconnected: it reads too slowly (or not at all) for the chat, and the server would
    /// otherwise hold all it missed (an IRC server's "SendQ exceeded").
    public static let sendQueueLimit = 1 << 20

    /// Starts a chat server on `system`, listening for clients on `host`:`port`.
    public static func start(
        on system: ClusterSystem, host: String, port: Int, lineLimit: Int = ChatServer.defaultLineLimit
    ) async throws -> ChatServer {
        let hub = ChatHub(system: system, lineLimit: lineLimit)
        let peer = try system.withActorName(ChatPeer.actorName) { ChatPeer(hub: hub, actorSystem: system) }
        let ids = Counter()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Unwritable past the send-queue limit: the hub then disconnects the client.
            .childChannelOption(
                .writeBufferWaterMark, value: ChannelOptions.Types.WriteBufferWaterMark(low: sendQueueLimit / 2, high: sendQueueLimit))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = ids.next()
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(limit: lineLimit)))
                    try channel.pipeline.syncOperations.addHandler(ChatConnection(id: id, hub: hub))
                }
            }
            .bind(host: host, port: port)
            .get()
        await hub.start()
        try await system.register(peer, as: ChatPeer.actorName)
        return ChatServer(host: host, port: listener.localAddress?.port ?? port, hub: hub, listener: listener, peer: peer)
    }

    private init(host: String, port: Int, hub: ChatHub, listener: any Channel, peer: ChatPeer) {
        self.host = host
        self.port = port
        self.hub = hub
        self.listener = listener
        self.peer = peer
    }

    /// How many chat servers this one knows, itself included.
    public func servers() async -> Int {
        await hub.serverCount
    }

    /// The server's distributed actor, for the program to keep alive while the node runs.
    public var actor: any DistributedActor { peer }

    /// Stops accepting clients and disconnects this server's clients.
    public func close() async {
        try? await listener.close()
        await hub.stop()
    }
}

/// Numbers connections.
private final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)
    func next() -> UInt64 { value.wrappingAdd(1, ordering: .relaxed).newValue }
}

/// One client's connection: its lines go to the hub, in order, one at a time. A client that
/// sends faster than the hub takes its lines is not read from while ``pausingAt`` of them wait
/// (TCP then slows it down), so what it sends never piles up in the server.
private final class ChatConnection: ChannelInboundHandler, Sendable {
    typealias InboundIn = ClientLine

    /// Lines read and not yet handled at which reading pauses; it resumes at half of it.
    static let pausingAt = 1024

    let id: UInt64
    let hub: ChatHub
    private let lines: AsyncStream<ClientLine>.Continuation
    private let stream: AsyncStream<ClientLine>
    /// Lines read and not yet handled.
    private let waiting = Atomic<Int>(0)
    /// Reading is paused; set and cleared on the channel's loop only.
    private let paused = Atomic<Bool>(false)
    /// A resume is on its way to the loop.
    private let resuming = Atomic<Bool>(false)

    init(id: UInt64, hub: ChatHub) {
        self.id = id
        self.hub = hub
        (stream, lines) = AsyncStream<ClientLine>.makeStream()
    }

    func channelActive(context: ChannelHandlerContext) {
        let link = ChatHub.Link(id: id, channel: context.channel)
        let channel = context.channel
        Task {
            await hub.connected(link)
            for await line in stream {
                await hub.received(line, from: id)
                let left = waiting.wrappingSubtract(1, ordering: .relaxed).newValue
                if left <= Self.pausingAt / 2, paused.load(ordering: .relaxed) { resume(channel) }
            }
            await hub.closed(id)
        }
        context.fireChannelActive()
    }

    /// Resumes reading, on the loop, if it is still paused and few enough lines wait.
    private func resume(_ channel: any Channel) {
        guard resuming.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        channel.eventLoop.execute { [self] in
            resuming.store(false, ordering: .relaxed)
            guard paused.load(ordering: .relaxed), waiting.load(ordering: .relaxed) <= Self.pausingAt / 2 else { return }
            paused.store(false, ordering: .relaxed)
            channel.setOption(.autoRead, value: true).whenComplete { _ in }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = waiting.wrappingAdd(1, ordering: .relaxed).newValue
        if count >= Self.pausingAt, !paused.load(ordering: .relaxed) {
            paused.store(true, ordering: .relaxed)
            context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        }
        lines.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        lines.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A connection reset or a decoding error ends this client only.
        context.close(promise: nil)
    }
}
