import Kumo
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The sharding front (`kumo shard-front`): an HTTP/1.1 proxy that sends each request to the
/// backend serving its shard. The first capture of ``Configuration/pattern`` in the request's
/// path is the shard key; the key's shard is fixed, and the shard's backend is chosen among the
/// live ones by ``ShardMap`` (rendezvous hashing), so when a backend dies only its shards move.
///
/// A backend is down when a connection to it fails, and up again when a probe (a TCP connect,
/// every ``Configuration/probeInterval``) succeeds. A request whose backend cannot be reached is
/// sent to the shard's next backend; a request whose backend fails after it was sent gets `502`
/// (it may have been acted on). A path the pattern does not match is sharded by the whole path.
///
/// Each response carries `x-kumo-shard` and `x-kumo-backend`; `GET /_kumo/shards` answers the
/// current assignment as JSON. Every connection stays on one event loop with its upstream
/// connections: no thread hop between a client and its backend.
public final class ShardFront: Sendable {
    /// What the front listens on and routes to.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var pattern: ShardPattern
        public var shardCount: Int
        /// The backends, as `HOST:PORT`.
        public var backends: [String]
        /// How often every backend is probed. Default 500 ms.
        public var probeInterval: Duration
        /// The largest request or response body the front carries. Default 16 MiB.
        public var maxBody: Int
        public var logger: Logger

        public init(host: String = "127.0.0.1", port: Int, pattern: ShardPattern, shardCount: Int, backends: [String], logger: Logger = Logger(label: "kumo.shard-front")) {
            self.host = host
            self.port = port
            self.pattern = pattern
            self.shardCount = shardCount
            self.backends = backends
            self.probeInterval = .milliseconds(500)
            self.maxBody = 16 << 20
            self.logger = logger
        }
    }

    /// The port it listens on.
    public let port: Int
    let configuration: Configuration
    /// Each backend's address, parsed once.
    let addresses: [String: NodeAddress]
    let state: Mutex<ShardMap>
    private let channel: Mutex<(any Channel)?>
    private let prober: Mutex<Task<Void, Never>?>

    private init(configuration: Configuration, addresses: [String: NodeAddress], port: Int) {
        self.configuration = configuration
        self.addresses = addresses
        self.port = port
        self.state = Mutex(ShardMap(backends: configuration.backends, shardCount: configuration.shardCount))
        self.channel = Mutex(nil)
        self.prober = Mutex(nil)
    }

    /// Starts listening and probing.
    /// - Throws: ``DeploymentError`` for a configuration with no backend or no shard, or the
    ///   bind's error.
    public static func start(_ configuration: Configuration) async throws -> ShardFront {
        guard !configuration.backends.isEmpty else { throw DeploymentError(field: "backend", problem: "at least one backend is needed") }
        var addresses: [String: NodeAddress] = [:]
        for backend in configuration.backends {
            guard let address = NodeAddress(parsing: backend), address.port > 0 else {
                throw DeploymentError(field: "backend", problem: "'\(backend)' is not HOST:PORT")
            }
            addresses[backend] = address
        }
        guard configuration.shardCount >= 1 else { throw DeploymentError(field: "shards", problem: "must be at least 1, not \(configuration.shardCount)") }
        let box = Mutex<ShardFront?>(nil)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard let front = box.withLock({ $0 }) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(FrontHandler(front: front))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let front = ShardFront(configuration: configuration, addresses: addresses, port: server.localAddress?.port ?? configuration.port)
        box.withLock { $0 = front }
        front.channel.withLock { $0 = server }
        front.prober.withLock { $0 = Task { await front.probe() } }
        configuration.logger.info("sharding front listening", metadata: ["port": "\(front.port)", "shards": "\(configuration.shardCount)", "backends": "\(configuration.backends.joined(separator: ","))"])
        return front
    }

    /// Stops listening and probing.
    public func close() async {
        prober.withLock { $0?.cancel() }
        let server = channel.withLock { $0 }
        try? await server?.close()
    }

    /// The current assignment of shards to backends, and the backends believed up.
    public var map: ShardMap { state.withLock { $0 } }

    func markDown(_ backend: String) {
        if state.withLock({ $0.markDown(backend) }) {
            configuration.logger.warning("backend down: its shards move", metadata: ["backend": "\(backend)"])
        }
    }

    private func markUp(_ backend: String) {
        if state.withLock({ $0.markUp(backend) }) {
            configuration.logger.notice("backend up: its shards come back", metadata: ["backend": "\(backend)"])
        }
    }

    /// Probes every backend with a TCP connect, over and over.
    private func probe() async {
        while !Task.isCancelled {
            await withTaskGroup(of: (String, Bool).self) { group in
                for backend in configuration.backends {
                    group.addTask {
                        guard let address = self.addresses[backend] else { return (backend, false) }
                        let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                            .connectTimeout(.milliseconds(500))
                            .connect(host: address.host, port: address.port).get()
                        try? await channel?.close()
                        return (backend, channel != nil)
                    }
                }
                for await (backend, up) in group {
                    if up { markUp(backend) } else { markDown(backend) }
                }
            }
            try? await Task.sleep(for: configuration.probeInterval)
        }
    }
}
