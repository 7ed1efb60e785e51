import Kumo
import KumoCore

/// Runs `body` with `count` nodes in this process, each on its own loopback port, all sharing
/// one secret; shuts them all down afterwards, also when `body` throws.
///
/// ```swift
/// try await withLocalCluster(nodes: 3) { nodes in
///     let greeter = try nodes[0].withActorName("greeter") { Greeter(actorSystem: nodes[0]) }
///     let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
///     _ = try await remote.greet("test")
/// }
/// ```
public func withLocalCluster<Result>(
    nodes count: Int, secret: String = "kumo-test-secret",
    configure: (Int, inout ClusterSettings) -> Void = { _, _ in },
    _ body: ([ClusterSystem]) async throws -> Result
) async throws -> Result {
    var systems: [ClusterSystem] = []
    do {
        for index in 0..<count {
            var settings = ClusterSettings(name: "node\(index)", secret: secret)
            configure(index, &settings)
            systems.append(try await ClusterSystem(settings: settings))
        }
        let result = try await body(systems)
        for system in systems { await system.shutdown() }
        return result
    } catch {
        for system in systems { await system.shutdown() }
        throw error
    }
}
