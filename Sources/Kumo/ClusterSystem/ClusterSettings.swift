import KumoCore
import Logging
import NIOCore

/// How a ``ClusterSystem`` runs: its identity, its limits and its timeouts.
///
/// Every field has a documented default except the cluster secret, which has none on purpose:
/// a cluster that authenticates nothing is never the default.
///
/// ```swift
/// var settings = ClusterSettings(name: "worker-1", secret: "s3cret")
/// settings.port = 7001
/// settings.callTimeout = .seconds(2)
/// let system = try await ClusterSystem(settings: settings)
/// ```
public struct ClusterSettings: Sendable {
    /// The node's human-readable name (logs, status). Default `"kumo"`.
    public var name: String
    /// The address to listen on. Default `127.0.0.1`.
    public var host: String
    /// The port to listen on; 0 picks a free port. Default 0.
    public var port: Int
    /// The host other nodes reach this node at, when it differs from ``host``: a node that
    /// listens on `0.0.0.0` in a Kubernetes pod advertises the pod's IP. Default `nil`: ``host``.
    public var advertisedHost: String?
    /// The shared cluster secret. Nodes prove to each other that they know it (HMAC-SHA256
    /// challenge–response); it never crosses the wire.
    public var secret: String
    /// Seed (or control) nodes to join the cluster through. Default none: the node starts a
    /// cluster of its own, which others may join.
    public var seeds: [NodeAddress]
    /// More ways to find the cluster: DNS names, UDP multicast (see ``Discovery``). Default none.
    public var discovery: Discovery
    /// The part this node plays: a full ``NodeRole/member`` (the default), or a
    /// ``NodeRole/client`` — a driver or a tool that joins for a while, does not count in
    /// majority decisions and whose crash costs the others nothing.
    public var role: NodeRole

    /// How long a remote call may take, unless the call sets its own
    /// (``ClusterSystem/withCallTimeout(_:_:)``). Default 5 s.
    public var callTimeout: Duration
    /// How long opening a TCP connection may take. Default 2 s.
    public var connectTimeout: Duration
    /// How long the handshake may take once connected. Default 5 s.
    public var handshakeTimeout: Duration
    /// After a failed connection attempt, calls to that node fail at once for this long instead
    /// of trying again. Default 250 ms.
    public var reconnectBackoff: Duration

    /// The largest frame accepted from a peer (its length prefix); a larger one closes the
    /// connection. Default 64 MiB.
    public var maxFrameSize: Int
    /// The largest message accepted in chunks (a large argument or result). Default 256 MiB.
    public var maxMessageSize: Int
    /// Frames larger than this are sent in chunks of this size, interleaved with small frames,
    /// so a large message never holds back small ones for long. Default 256 KiB.
    public var chunkSize: Int
    /// Whether large byte arrays received in chunks (8 MiB and up) are received into the memory
    /// of earlier ones their receivers let go of. Fresh memory of that size is mapped and zeroed
    /// by the kernel page by page, which costs more than receiving the bytes; with reuse, a
    /// stream of large messages runs about a fifth faster (docs/benchmarks.md). The node then
    /// keeps a reference to each such array (at most 4 arrays, 512 MiB, for 5 s): while you
    /// hold one, it is shared, so reading it costs nothing but changing it in place copies it
    /// first, as with any array that has two holders. Set `false` to be a received array's
    /// only holder (and let the node keep nothing). Default `true`.
    public var reuseReceivedArrays: Bool
    /// Bytes that may wait in a connection's outbox before senders are made to wait. Default 32 MiB.
    public var outboxHighWater: Int
    /// The kernel receive buffer of each connection (`SO_RCVBUF`; the send buffer, `SO_SNDBUF`,
    /// gets half of it), or `nil` to leave both to the kernel's autotuning. TCP delivers in
    /// order, so every byte queued in these buffers is a byte a small call must wait behind while
    /// a large message streams; bounded buffers keep that wait short. The default, 256 KiB,
    /// covers the bandwidth-delay product of a 10 Gb/s link with a 200 µs round trip; raise it
    /// (or pass `nil`) for links with long round trips.
    ///
    /// The send buffer is the smaller one because on loopback a send buffer as large as a chunk
    /// let small calls behind a stream stall for milliseconds now and then (`kumo-bench bulk`:
    /// p99 3–18 ms with 256 KiB, 0.5 ms with 128 KiB, at the same rate), while a smaller receive
    /// buffer costs one-way messages a fifth of their rate (docs/benchmarks.md).
    public var socketBufferSize: Int?

    /// The send buffer used with a receive buffer of `size` bytes (see ``socketBufferSize``).
    static func sendBufferSize(forReceiveBuffer size: Int) -> Int {
        max(4096, size / 2)
    }
    /// How long the node's event loop stays awake after a read before it goes back to sleep
    /// (see ``BusyPoller``). A reply or the next call that arrives meanwhile is read without a
    /// thread wake-up, which on a virtual machine is most of a loopback round trip. Reads that
    /// come far apart (an idle node) make the loop rest from this, so the price is CPU only while
    /// traffic flows: at most one window per read. It pays when the round trip without wake-ups
    /// fits in the window (a round trip then lasts the window at least); raise it where round trips
    /// are longer. Zero makes the loop sleep at once after every read. Default 60 µs (`kumo-bench
    /// rtt`: 0.85–1.15× the raw TCP ping-pong in slow and fast spells, against 1.25–1.35×
    /// without; docs/benchmarks.md).
    public var busyPollWindow: Duration
    /// While a stream of one-way messages (``SendPort`` sends) flows, the node writes them out on
    /// a tick of this period instead of being woken for each one, much like Erlang's
    /// `delay_send`: a message waits at most this long, and the stream goes out in few large
    /// writes at a fraction of the sender's CPU. The first message after a quiet spell, and every
    /// call and reply, are written at once. Zero wakes the loop for every message. Default 400 µs
    /// (against 100 µs, a quarter to a third more messages per second between two processes, for
    /// at most 300 µs more delay while a stream flows: docs/benchmarks.md).
    public var messageBatchingDelay: Duration
    /// How many calls and replies may wait in a connection's outbox before one queued on the
    /// node's event loop writes them out. Replies to a batch of inbound calls, and calls made by
    /// tasks on the ``ClusterSystem/executor``, are otherwise written together once the loop has
    /// run them all; at this many they go out at once, so the peer starts on the first while the rest are
    /// still being made, and the two nodes work at the same time instead of in turns. Each piece
    /// costs a write system call. With 64 callers between two processes, 16 gives a third more
    /// calls per second than writing once per turn (docs/benchmarks.md). Default 16.
    public var callFlushThreshold: Int
    /// Inbound calls that may run at once per connection before the node stops reading from it.
    /// Default 4096.
    public var maxInFlightCallsPerConnection: Int

    /// Membership, failure detection and downing.
    public var membership: MembershipSettings
    /// The node that collects the cluster log (``ClusterSystem/say(_:from:)``); `nil` picks the up
    /// member with the lowest identity. Default `nil`.
    public var logCollector: NodeAddress?

    /// The add-on modules' per-node parts (see ``ClusterPlugin``). Default none.
    public var plugins: ClusterPlugins

    /// Whether the node reports metrics through swift-metrics (see ``MetricsSettings`` and
    /// docs/metrics.md). Default: enabled, recording into the factory bootstrapped (or bound to
    /// the starting task) when the node starts.
    public var metrics: MetricsSettings

    /// Network faults to inject, for tests (see ``FaultInjector``). Default `nil`.
    public var faults: FaultInjector?

    /// The event loop group to run on; `nil` uses SwiftNIO's shared group. Each system runs all its
    /// connections on one loop of the group, the loop of its ``ClusterSystem/executor``.
    public var eventLoopGroup: (any EventLoopGroup)?
    /// Where the system logs. The logger gets `kumo.node` metadata added. Default: a logger
    /// labelled `kumo` at the level of `LOG_LEVEL` (or `info`).
    public var logger: Logger

    /// Creates settings with the defaults above.
    /// - Parameters:
    ///   - name: the node's name.
    ///   - secret: the shared cluster secret; must not be empty.
    public init(name: String = "kumo", secret: String) {
        self.name = name
        self.host = "127.0.0.1"
        self.port = 0
        self.advertisedHost = nil
        self.secret = secret
        self.seeds = []
        self.discovery = .none
        self.role = .member
        self.callTimeout = .seconds(5)
        self.connectTimeout = .seconds(2)
        self.handshakeTimeout = .seconds(5)
        self.reconnectBackoff = .milliseconds(250)
        self.maxFrameSize = 64 << 20
        self.maxMessageSize = 256 << 20
        self.chunkSize = 256 << 10
        self.reuseReceivedArrays = true
        self.outboxHighWater = 32 << 20
        self.socketBufferSize = 256 << 10
        self.busyPollWindow = .microseconds(60)
        self.messageBatchingDelay = .microseconds(400)
        self.callFlushThreshold = 16
        self.maxInFlightCallsPerConnection = 4096
        self.membership = MembershipSettings()
        self.logCollector = nil
        self.plugins = ClusterPlugins()
        self.metrics = MetricsSettings()
        self.faults = nil
        self.eventLoopGroup = nil
        var logger = Logger(label: "kumo")
        if let level = Environment.logLevel { logger.logLevel = level }
        self.logger = logger
    }

    func validate() throws(ClusterError) {
        guard !secret.isEmpty else {
            throw ClusterError(.invalidConfiguration, "the cluster secret must not be empty")
        }
        guard (0...65535).contains(port) else {
            throw ClusterError(.invalidConfiguration, "port \(port) is not in 0...65535")
        }
        guard chunkSize >= 1024, chunkSize < maxFrameSize else {
            throw ClusterError(.invalidConfiguration, "chunkSize \(chunkSize) must be at least 1024 and below maxFrameSize")
        }
        guard messageBatchingDelay >= .zero, messageBatchingDelay <= .milliseconds(10) else {
            throw ClusterError(.invalidConfiguration, "messageBatchingDelay \(messageBatchingDelay) must be between 0 and 10 ms")
        }
        guard busyPollWindow >= .zero, busyPollWindow <= .milliseconds(10) else {
            throw ClusterError(.invalidConfiguration, "busyPollWindow \(busyPollWindow) must be between 0 and 10 ms")
        }
        guard (1...4096).contains(callFlushThreshold) else {
            throw ClusterError(.invalidConfiguration, "callFlushThreshold \(callFlushThreshold) must be between 1 and 4096")
        }
        if let size = socketBufferSize, !(4096...(1 << 30)).contains(size) {
            throw ClusterError(.invalidConfiguration, "socketBufferSize \(size) must be between 4 KiB and 1 GiB")
        }
        guard maxFrameSize >= 4096, maxMessageSize >= maxFrameSize else {
            throw ClusterError(.invalidConfiguration, "maxFrameSize must be at least 4096 and maxMessageSize at least maxFrameSize")
        }
    }
}

enum Environment {
    static var logLevel: Logger.Level? {
        guard let raw = getenv("LOG_LEVEL") else { return nil }
        return Logger.Level(rawValue: String(cString: raw).lowercased())
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
