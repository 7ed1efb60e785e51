import ArgumentParser
import Kumo
import KumoExamples
import Logging
import ServiceLifecycle

/// `kumo node`: runs one node until SIGINT or SIGTERM, then shuts it down cleanly.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a cluster node until SIGINT or SIGTERM.",
        discussion: """
            The node hosts the example actors `greeter` (Greeter) and `recorder` (Recorder) under \
            those well-known names. Once it listens it prints one line: \
            `kumo node ready: name=NAME address=HOST:PORT incarnation=HEX`.
            """
    )

    @Option(help: "The node's name.")
    var name: String = "node"

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port: Int = 7000

    @Option(name: .customLong("seed"), help: "A node to connect to at start, as HOST:PORT (repeatable).")
    var seeds: [String] = []

    @Option(help: "The shared cluster secret (or set KUMO_SECRET).")
    var secret: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let secret = secret ?? environment("KUMO_SECRET"), !secret.isEmpty else {
            throw ValidationError("a cluster secret is required: --secret S or KUMO_SECRET")
        }
        var seedAddresses: [NodeAddress] = []
        for seed in seeds {
            guard let address = NodeAddress(parsing: seed) else {
                throw ValidationError("seed '\(seed)' is not HOST:PORT")
            }
            seedAddresses.append(address)
        }
        var settings = ClusterSettings(name: name, secret: secret)
        settings.host = host
        settings.port = port
        settings.seeds = seedAddresses
        var logger = Logger(label: "kumo")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        settings.logger = logger

        let system = try await ClusterSystem(settings: settings)
        let greeter = system.withActorName("greeter") { Greeter(actorSystem: system) }
        let recorder = system.withActorName("recorder") { Recorder(actorSystem: system) }
        print("kumo node ready: name=\(name) address=\(system.node.address) incarnation=\(String(system.node.incarnation, radix: 16))")
        flushStandardOutput()
        for seed in seedAddresses {
            do {
                let peer = try await system.connect(to: seed)
                logger.info("connected to seed", metadata: ["kumo.peer": "\(peer)"])
            } catch {
                logger.warning("cannot reach seed \(seed): \(error)")
            }
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: system)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        withExtendedLifetime((greeter, recorder)) {}
        logger.info("node stopped")
    }
}
