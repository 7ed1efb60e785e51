import KumoChatServer
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A chat client over a real TCP socket, as `nc` would be: it sends lines and reads the lines the
/// server writes.
final class LineClient: Sendable {
    private let channel: any Channel
    private let lines: Inbox

    /// `reading: false` makes a client that reads nothing (a small receive buffer, no reads)
    /// until ``startReading()``.
    static func connect(port: Int, reading: Bool = true) async throws -> LineClient {
        let inbox = Inbox()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).channelOption(.autoRead, value: reading)
        if !reading { bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: 4096) }
        let channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(limit: 1 << 20)))
                    try channel.pipeline.syncOperations.addHandler(Collector(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return LineClient(channel: channel, lines: inbox)
    }

    private init(channel: any Channel, lines: Inbox) {
        self.channel = channel
        self.lines = lines
    }

    /// Starts reading, for a client connected with `reading: false`.
    func startReading() {
        channel.setOption(.autoRead, value: true).whenComplete { _ in }
        channel.read()
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text + "\n"))
    }

    func sendBytes(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Waits for `line`, skipping others; records an issue naming what came instead.
    @discardableResult
    func expect(_ line: String, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if lines.take(line) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("never received '\(line)'; received \(lines.all)", sourceLocation: sourceLocation)
        return false
    }

    /// Waits for every one of `lines`, in any order (lines from different servers).
    func expectAll(_ lines: [String], timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var missing = lines
        while clock.now < end {
            missing.removeAll { self.lines.takeAnywhere($0) }
            if missing.isEmpty { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("never received \(missing); received \(self.lines.all)", sourceLocation: sourceLocation)
    }

    /// Whether `line` arrives within `timeout` (for lines that must not come).
    func receives(_ line: String, within timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if lines.take(line) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Waits until the server closes the connection.
    func expectClosed(timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if lines.isClosed { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the server did not close the connection", sourceLocation: sourceLocation)
    }

    func close() async {
        try? await channel.close()
    }
}

/// The lines received and not yet expected.
private final class Inbox: Sendable {
    private let state = Mutex<(lines: [String], received: [String], closed: Bool)>(([], [], false))

    func add(_ line: String) { state.withLock { $0.lines.append(line); $0.received.append(line) } }
    func close() { state.withLock { $0.closed = true } }
    var isClosed: Bool { state.withLock { $0.closed } }
    var all: [String] { state.withLock { $0.received } }

    /// Removes `line` and everything before it, if it came.
    func take(_ line: String) -> Bool {
        state.withLock { state in
            guard let index = state.lines.firstIndex(of: line) else { return false }
            state.lines.removeFirst(index + 1)
            return true
        }
    }

    /// Removes `line` alone, if it came.
    func takeAnywhere(_ line: String) -> Bool {
        state.withLock { state in
            guard let index = state.lines.firstIndex(of: line) else { return false }
            state.lines.remove(at: index)
            return true
        }
    }
}

private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ClientLine
    let inbox: Inbox

    init(inbox: Inbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .text(let line) = unwrapInboundIn(data) { inbox.add(line) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.close()
        context.fireChannelInactive()
    }
}
