import ArgumentParser
import Kumo
import KumoExamples
import Logging
import ServiceLifecycle

/// Options shared by `kumo node` and `kumo control`.
struct NodeOptions: ParsableArguments {
    @Option(help: "The node's name.")
    var name: String?

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port: Int = 7000

    @Option(name: .customLong("seed"), help: "A seed or control node to join through, as HOST:PORT (repeatable).")
    var seeds: [String] = []

    @Option(help: "Join the nodes a DNS name resolves to (a Kubernetes headless service), as NAME:PORT.")
    var dns: String?

    @Flag(help: "Find other nodes by UDP multicast on the local network.")
    var multicast = false

    @Option(help: "The shared cluster secret (or set KUMO_SECRET).")
    var secret: String?

    @Option(help: "The node's role: member (counts in majority decisions) or client (a driver or tool whose crash costs the cluster nothing).")
    var role: String = "member"

    @Option(help: "Seconds a member may stay unreachable before it is downed (default 4).")
    var downingTimeout: Double?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("socket-buffer-kib"), help: "Kernel send and receive buffer per connection, in KiB, or 0 for the kernel's autotuning (default 256).")
    var socketBufferKiB: Int?

    @Option(help: "Microseconds the event loop keeps polling after I/O before it sleeps (default 0: off).")
    var busyPollMicroseconds: Int?

    @Option(help: "Microseconds a stream of one-way messages may wait to share a write (default 100).")
    var messageBatchingMicroseconds: Int?

    @Option(help: "Calls and replies made on the event loop that are written at once, without waiting for the loop's turn to end (default 16).")
    var callFlushThreshold: Int?

    func settings(defaultName: String) throws -> ClusterSettings {
        guard let secret = secret ?? environment("KUMO_SECRET"), !secret.isEmpty else {
            throw ValidationError("a cluster secret is required: --secret S or KUMO_SECRET")
        }
        var settings = ClusterSettings(name: name ?? defaultName, secret: secret)
        settings.host = host
        settings.port = port
        guard let role = NodeRole(named: role) else { throw ValidationError("--role must be member or client, not '\(role)'") }
        settings.role = role
        if let downingTimeout {
            guard downingTimeout > 0, downingTimeout <= 3600 else {
                throw ValidationError("--downing-timeout must be between 0 and 3600 seconds")
            }
            settings.membership.downing = .keepMajority(after: .milliseconds(Int64(downingTimeout * 1000)))
        }
        for seed in seeds {
            guard let address = NodeAddress(parsing: seed) else { throw ValidationError("seed '\(seed)' is not HOST:PORT") }
            settings.seeds.append(address)
        }
        if let dns {
            guard let address = NodeAddress(parsing: dns) else { throw ValidationError("--dns '\(dns)' is not NAME:PORT") }
            settings.discovery = settings.discovery.and(.dns(address.host, port: address.port))
        }
        if multicast { settings.discovery = settings.discovery.and(.multicast()) }
        if let socketBufferKiB {
            guard socketBufferKiB >= 0 else { throw ValidationError("--socket-buffer-kib must not be negative") }
            settings.socketBufferSize = socketBufferKiB == 0 ? nil : socketBufferKiB << 10
        }
        if let busyPollMicroseconds { settings.busyPollWindow = .microseconds(busyPollMicroseconds) }
        if let messageBatchingMicroseconds { settings.messageBatchingDelay = .microseconds(messageBatchingMicroseconds) }
        if let callFlushThreshold { settings.callFlushThreshold = callFlushThreshold }
        var logger = Logger(label: "kumo")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        settings.logger = logger
        return settings
    }
}

/// Runs a node until SIGINT or SIGTERM (a graceful leave), or until the cluster downs it (exit 2).
func runNode(_ settings: ClusterSettings, role: String, setUp: (ClusterSystem) -> [any DistributedActor]) async throws {
    let system = try await ClusterSystem(settings: settings)
    let actors = setUp(system)
    print("kumo \(role) ready: name=\(settings.name) address=\(system.node.address) incarnation=\(String(system.node.incarnation, radix: 16))")
    flushStandardOutput()
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [.init(service: system), .init(service: DownedWatcher(system: system))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: settings.logger))
    try await group.run()
    withExtendedLifetime(actors) {}
    if system.isDowned {
        settings.logger.error("the cluster declared this node down; restart it to rejoin as a new incarnation")
        throw ExitCode(2)
    }
    settings.logger.info("\(role) stopped")
}

/// Ends the service group when the cluster declares this node down.
struct DownedWatcher: Service {
    let system: ClusterSystem

    func run() async throws {
        let downed: NodeLifecycleEvent? = await cancelWhenGracefulShutdown {
            for await event in system.lifecycleEvents() where event.status == .down { return event }
            return nil
        }
        if let downed {
            system.logger.error("this node is down: \(downed.reason ?? "declared down by the cluster")")
            await system.shutdown()
            throw ExitCode(2)
        }
    }
}

/// `kumo node`: runs one node until SIGINT or SIGTERM, then shuts it down cleanly.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a cluster node until SIGINT or SIGTERM.",
        discussion: """
            The node hosts the example actors `greeter` (Greeter) and `recorder` (Recorder) under \
            those well-known names, and lets other nodes spawn both. Once it listens it prints one \
            line: `kumo node ready: name=NAME address=HOST:PORT incarnation=HEX`.
            """
    )

    @OptionGroup var options: NodeOptions

    func run() async throws {
        try await runNode(try options.settings(defaultName: "node"), role: "node") { system in
            system.registerSpawnable(Greeter.self) { Greeter(actorSystem: $0) }
            system.registerSpawnable(Recorder.self) { Recorder(actorSystem: $0) }
            return [
                system.withActorName("greeter") { Greeter(actorSystem: system) },
                system.withActorName("recorder") { Recorder(actorSystem: system) },
            ]
        }
    }
}

/// `kumo control`: a control node — the node others join through, which tells them about each
/// other. Once the cluster has formed it is an ordinary member: gossip is peer to peer, so the
/// cluster outlives it.
struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Run a control node that other nodes join through (`kumo node --seed HOST:PORT`).",
        discussion: "Once it listens it prints `kumo control ready: name=NAME address=HOST:PORT incarnation=HEX`."
    )

    @OptionGroup var options: NodeOptions

    func run() async throws {
        try await runNode(try options.settings(defaultName: "control"), role: "control") { _ in [] }
    }
}
