/// The per-node part of an add-on module (jobs, gears, replicated state, …), installed through
/// the settings and told of the node's lifecycle.
///
/// ```swift
/// var settings = ClusterSettings(name: "worker", secret: "s3cret")
/// settings.plugins.install(Jobs())
/// let system = try await ClusterSystem(settings: settings)   // Jobs.start(system) has run
/// ```
///
/// A plugin is a description — usually a struct of options — and may be installed on many
/// nodes: what it keeps per node lives in the system actors it hosts in ``start(_:)`` under
/// reserved well-known names (``ClusterSystem/hostSystemActor(named:_:)``), which other nodes
/// address by the same name and which the plugin finds again with
/// ``ClusterSystem/systemActor(named:as:)``.
///
/// The node calls, in order:
/// - ``start(_:)`` on each plugin in the order of installation, once the node is listening and
///   its membership agent runs (and its first attempt to join has been made). A plugin whose
///   start throws stops the node's start with an error naming it; the plugins started before it
///   are stopped again.
/// - ``willLeave(_:)`` before a graceful leave, while the node is still a member in good standing:
///   the place to hand work and state to other nodes. In reverse order of installation.
/// - ``stop(_:)`` on shutdown, after the leave, in reverse order of installation.
public protocol ClusterPlugin: Sendable {
    /// The plugin's name in logs and errors, for example `kumo.jobs`.
    var name: String { get }

    /// Starts the plugin's part on `system`.
    /// - Throws: whatever keeps it from running; the node then fails to start.
    func start(_ system: ClusterSystem) async throws

    /// The node is about to leave the cluster gracefully. The default does nothing.
    func willLeave(_ system: ClusterSystem) async

    /// The node is shutting down. The default does nothing; the plugin's system actors are
    /// released after every plugin has stopped.
    func stop(_ system: ClusterSystem) async
}

extension ClusterPlugin {
    public func willLeave(_ system: ClusterSystem) async {}
    public func stop(_ system: ClusterSystem) async {}
}

/// The plugins a node runs, in the order of installation (``ClusterSettings/plugins``).
public struct ClusterPlugins: Sendable {
    /// The installed plugins, in order.
    public private(set) var installed: [any ClusterPlugin] = []

    /// No plugins.
    public init() {}

    /// Adds `plugin` after those installed before it.
    public mutating func install(_ plugin: any ClusterPlugin) {
        installed.append(plugin)
    }

    /// The first installed plugin of type `type`, if any.
    public func first<Plugin: ClusterPlugin>(_ type: Plugin.Type) -> Plugin? {
        installed.lazy.compactMap { $0 as? Plugin }.first
    }
}
