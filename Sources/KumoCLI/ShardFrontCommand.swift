import ArgumentParser
import Foundation
import KumoDeploy
import Logging
import ServiceLifecycle

/// `kumo shard-front`: the sharding front (Metaparticle's shardSpec) as a process.
struct ShardFrontCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard-front",
        abstract: "Route HTTP requests to shards: the pattern's first capture in the path picks one of N shards, served by the live backends.",
        discussion: """
            Each shard is served by one live backend (rendezvous hashing); when a backend stops \
            answering, its shards move to the others, and come back when it does. Once it \
            listens it prints `kumo shard-front ready: HOST:PORT`; SIGTERM or SIGINT stops it. \
            GET /_kumo/shards shows the assignment as JSON.
            """)

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var listen: Int

    @Option(help: "A regular expression matched against the request's path; its first capture is the shard key.")
    var pattern: String

    @Option(help: "How many shards.")
    var shards: Int

    @Option(help: "A backend, as HOST:PORT (repeatable).")
    var backend: [String] = []

    @Option(help: "Milliseconds between probes of every backend.")
    var probeMilliseconds = 500

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(listen) else { throw ValidationError("--listen must be a port between 0 and 65535") }
        guard shards >= 1 else { throw ValidationError("--shards must be at least 1, not \(shards)") }
        guard !backend.isEmpty else { throw ValidationError("give at least one --backend HOST:PORT") }
        guard probeMilliseconds >= 10 else { throw ValidationError("--probe-milliseconds must be at least 10") }
        do {
            _ = try ShardPattern(pattern)
        } catch let error as DeploymentError {
            throw ValidationError("--pattern: \(error.problem)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "kumo.shard-front")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var configuration = ShardFront.Configuration(host: host, port: listen, pattern: try ShardPattern(pattern), shardCount: shards, backends: backend, logger: logger)
        configuration.probeInterval = .milliseconds(probeMilliseconds)
        let front: ShardFront
        do {
            front = try await ShardFront.start(configuration)
        } catch let error as DeploymentError {
            throw ValidationError("--\(error.field): \(error.problem)")
        }
        print("kumo shard-front ready: \(host):\(front.port)")
        fflush(nil)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: FrontService(front: front))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The front until a graceful shutdown.
private struct FrontService: Service {
    let front: ShardFront

    func run() async throws {
        try? await gracefulShutdown()
        await front.close()
    }
}
