import Kumo
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The jobs plugin: install it on every node that runs or sends jobs, listing the jobs the node
/// runs.
///
/// ```swift
/// @Job func square(_ a: Int) -> Int { a * a }
///
/// var settings = ClusterSettings(name: "worker", secret: "s3cret")
/// settings.plugins.install(Jobs(squareJob, pythagoreanJob))
/// let system = try await ClusterSystem(settings: settings)
/// try await Jobs.withCluster(system) {
///     let nine = try await squareRemote(3)
/// }
/// ```
///
/// The node hosts `kumo.jobs`, which runs the calls other nodes send, and reports its load
/// (with every reply, and when probed) for the load- and cost-aware placements.
public struct Jobs: ClusterPlugin {
    public var name: String { "kumo.jobs" }

    let entries: [JobEntry]
    /// What this node offers to cost-aware placement; by default one unit per processor.
    public var capacity: ComputationCost
    /// Whether this node runs jobs for others (and for itself). A driver that only sends jobs
    /// sets `false`.
    public var runsJobs: Bool
    /// Where calls from this node go unless the job or the call says otherwise.
    public var placement: PlacementStrategy
    /// How often this node asks the others for their load.
    public var loadReportInterval: Duration

    /// Jobs for a node, with the jobs it runs.
    public init<each Result>(
        _ jobs: repeat JobDefinition<each Result>,
        capacity: ComputationCost? = nil, runsJobs: Bool = true, placement: PlacementStrategy = .leastLoaded,
        loadReportInterval: Duration = .seconds(1)
    ) {
        var entries: [JobEntry] = []
        for job in repeat each jobs { entries.append(job.entry) }
        self.entries = entries
        self.capacity = capacity ?? ComputationCost(units: Double(Self.processorCount))
        self.runsJobs = runsJobs
        self.placement = placement
        self.loadReportInterval = loadReportInterval
    }

    /// The names of the jobs this node runs.
    public var jobNames: [String] { entries.map(\.name) }

    public func start(_ system: ClusterSystem) async throws {
        let runtime = try JobsRuntime(system: system, plugin: self)
        try system.hostSystemActor(named: JobWorker.actorName) { JobWorker(runtime: runtime, actorSystem: system) }
        Self.running.withLock { $0[ObjectIdentifier(system)] = runtime }
        await runtime.startTracking()
    }

    public func willLeave(_ system: ClusterSystem) async {
        await Self.runtime(of: system)?.drain(timeout: .seconds(10))
    }

    public func stop(_ system: ClusterSystem) async {
        let runtime = Self.running.withLock { $0.removeValue(forKey: ObjectIdentifier(system)) }
        runtime?.stop()
    }

    /// The nodes that `system` sends jobs to now (itself included when it runs jobs), as its
    /// load reports show them.
    public static func workers(of system: ClusterSystem) -> [NodeID] {
        guard let runtime = runtime(of: system) else { return [] }
        runtime.refreshOwnLoad()
        return runtime.placement.withLock { $0.candidates }
    }

    /// Waits until `system` sends jobs to `count` nodes, or throws after `timeout`.
    public static func waitForWorkers(_ count: Int, on system: ClusterSystem, timeout: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if workers(of: system).count >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw JobError(.noNodes, job: "-", node: system.node, "\(workers(of: system).count) of \(count) workers reported within \(timeout)")
    }

    // MARK: The current cluster

    /// The runtimes of the nodes in this process that run the plugin.
    static let running = Mutex<[ObjectIdentifier: JobsRuntime]>([:])

    static func runtime(of system: ClusterSystem) -> JobsRuntime? {
        running.withLock { $0[ObjectIdentifier(system)] }
    }

    /// The node a job runs on, or the one ``withCluster(_:_:)`` chose.
    @TaskLocal static var currentRuntime: JobsRuntime?

    /// The cluster that job variants called from this task use: the node a job runs on inside
    /// a job, the one given to ``withCluster(_:_:)``, or the only node in this process that
    /// runs the plugin.
    public static var current: ClusterSystem? { currentOrSole?.system }

    static var currentOrSole: JobsRuntime? {
        if let runtime = currentRuntime { return runtime }
        return running.withLock { $0.count == 1 ? $0.values.first : nil }
    }

    /// Runs `body` with `system` as the cluster its job calls use.
    /// - Throws: ``JobError`` with code ``JobError/Code/noCluster`` when `system` does not run the
    ///   plugin; otherwise what `body` throws.
    public static func withCluster<T>(_ system: ClusterSystem, _ body: () async throws -> T) async throws -> T {
        guard let runtime = runtime(of: system) else {
            throw JobError(.noCluster, job: "-", node: system.node, "node \(system.settings.name) does not run the Jobs plugin")
        }
        return try await $currentRuntime.withValue(runtime) { try await body() }
    }

    /// The runtime a call from this task uses, or the reason there is none.
    static func requireRuntime(for job: String) throws -> JobsRuntime {
        guard let runtime = currentOrSole else {
            let count = running.withLock { $0.count }
            throw JobError(
                .noCluster, job: job, node: nil,
                count == 0
                    ? "no node in this process runs the Jobs plugin"
                    : "\(count) nodes in this process run the Jobs plugin; choose one with Jobs.withCluster(_:_:)")
        }
        return runtime
    }

    static var processorCount: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }
}
