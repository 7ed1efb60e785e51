import ServiceLifecycle

extension ClusterSystem: Service {
    /// Runs the node until graceful shutdown is triggered (for example by SIGTERM in a
    /// `ServiceGroup`) or the task is cancelled, then shuts it down (see ``shutdown()``).
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
