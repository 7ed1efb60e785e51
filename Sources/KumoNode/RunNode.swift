#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Kumo
import Logging
import ServiceLifecycle

/// Runs a node until SIGINT or SIGTERM (a graceful leave), or until the cluster downs it (then
/// throws `ExitCode(2)`).
func runNode(
    _ settings: ClusterSettings, readyLabel: String, healthPort: Int? = nil,
    setUp: (ClusterSystem) async throws -> [any DistributedActor]
) async throws {
    let system = try await ClusterSystem(settings: settings)
    let actors: [any DistributedActor]
    let health: HealthEndpoint?
    do {
        actors = try await setUp(system)
        if let healthPort {
            health = try await HealthEndpoint(system: system, host: settings.host, port: healthPort)
        } else {
            health = nil
        }
    } catch {
        // The command fails with the error, which ArgumentParser reports on stderr.
        await system.shutdown()
        throw error
    }
    // The ready line is the node's one deliberate output: it goes to standard output, apart from
    // the log (which may go anywhere), so that a parent process can wait for it and read the
    // address from it; it is flushed because a pipe's stdout is block-buffered.
    let healthField = health.map { " health=\($0.port)" } ?? ""
    print("\(readyLabel) ready: name=\(settings.name) address=\(system.node.address) incarnation=\(String(system.node.incarnation, radix: 16))\(healthField)")
    fflush(nil)
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [
                .init(service: system),
                .init(service: DownedWatcher(system: system), successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: settings.logger))
    try await group.run()
    await health?.close()
    withExtendedLifetime(actors) {}
    // The watcher has logged why.
    if system.isDowned { throw ExitCode(2) }
    settings.logger.info("\(readyLabel) stopped")
}

/// Returns, ending the service group, when the cluster declares this node down (or, on a
/// graceful shutdown, when that begins).
struct DownedWatcher: Service {
    let system: ClusterSystem

    func run() async throws {
        let downed: NodeLifecycleEvent? = await cancelWhenGracefulShutdown {
            for await event in system.lifecycleEvents() where event.status == .down { return event }
            return nil
        }
        if let downed {
            system.logger.error(
                "this node is down (\(downed.reason ?? "declared down by the cluster")); restart it to rejoin as a new incarnation")
        }
    }
}

/// The value of the environment variable `name`, if set.
func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
