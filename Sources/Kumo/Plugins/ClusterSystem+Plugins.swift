extension ClusterSystem {
    /// The installed plugin of type `type`, if any (``ClusterSettings/plugins``).
    public func plugin<Plugin: ClusterPlugin>(_ type: Plugin.Type) -> Plugin? {
        settings.plugins.first(type)
    }

    /// Starts every plugin in the order of installation; a plugin that throws stops the ones
    /// started before it again, shuts the node down and fails its start with its name.
    func startPlugins() async throws {
        var started: [any ClusterPlugin] = []
        // The cluster services come first: every add-on may use the registry and watches.
        for plugin in [ClusterServices()] + settings.plugins.installed {
            do {
                logger.debug("starting plugin", metadata: ["kumo.plugin": "\(plugin.name)"])
                try await plugin.start(self)
                started.append(plugin)
            } catch {
                logger.error("plugin failed to start: \(error)", metadata: ["kumo.plugin": "\(plugin.name)"])
                lifecycle.withLock { $0.plugins = started }
                await shutdown()
                throw ClusterError(.pluginFailed, "plugin \(plugin.name) failed to start: \(error)", node: node)
            }
        }
        lifecycle.withLock { $0.plugins = started }
    }

    /// Tells the running plugins, last installed first, that the node is about to leave; once.
    func pluginsWillLeave() async {
        let plugins = lifecycle.withLock { state -> [any ClusterPlugin] in
            guard !state.pluginsLeaving else { return [] }
            state.pluginsLeaving = true
            return state.plugins
        }
        for plugin in plugins.reversed() { await plugin.willLeave(self) }
    }

    /// Stops the running plugins, last installed first; once.
    func stopPlugins() async {
        let plugins = lifecycle.withLock { state -> [any ClusterPlugin] in
            defer { state.plugins = [] }
            return state.plugins
        }
        for plugin in plugins.reversed() {
            logger.debug("stopping plugin", metadata: ["kumo.plugin": "\(plugin.name)"])
            await plugin.stop(self)
        }
    }
}
