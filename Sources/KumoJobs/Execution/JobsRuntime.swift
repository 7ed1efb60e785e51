import Kumo
import Logging
import NIOCore
import Synchronization

/// What ``Jobs`` keeps for one node: the jobs it runs and their caps, its load, and the
/// placement view it sends calls by. Created when the plugin starts, dropped when it stops.
final class JobsRuntime: Sendable {
    let system: ClusterSystem
    let logger: Logger
    let entries: [String: JobEntry]
    let limiters: [String: ConcurrencyLimiter]
    let capacity: ComputationCost
    let runsJobs: Bool
    let defaultPlacement: PlacementStrategy
    let loadReportInterval: Duration

    struct Counters: Sendable {
        var running = 0
        var costInUse = ComputationCost(units: 0)
        var accepting = true
    }
    let counters = Mutex(Counters())
    let placement: Mutex<Placement>
    /// Members in good standing other than this node, by the membership events.
    let members = Mutex<Set<NodeID>>([])
    let tasks = Mutex<[Task<Void, Never>]>([])

    init(system: ClusterSystem, plugin: Jobs) throws {
        self.system = system
        var logger = system.logger
        logger[metadataKey: "plugin"] = "kumo.jobs"
        self.logger = logger
        var entries: [String: JobEntry] = [:]
        var limiters: [String: ConcurrencyLimiter] = [:]
        for entry in plugin.entries {
            guard entries[entry.name] == nil else {
                throw ClusterError(
                    .invalidConfiguration, "two jobs are named \(entry.name); give one a name in its attribute",
                    node: system.node)
            }
            entries[entry.name] = entry
            if let cap = entry.options.maxConcurrentPerNode {
                let queueLimit: Int
                switch entry.options.overflow {
                case .queue(let limit): queueLimit = limit
                case .elsewhere: queueLimit = 0
                }
                limiters[entry.name] = ConcurrencyLimiter(limit: cap, queueLimit: queueLimit)
            }
        }
        self.entries = entries
        self.limiters = limiters
        self.capacity = plugin.capacity
        self.runsJobs = plugin.runsJobs
        self.defaultPlacement = plugin.placement
        self.loadReportInterval = plugin.loadReportInterval
        var placement = Placement(
            local: system.node, staleAfter: plugin.loadReportInterval * 5, seed: UInt64.random(in: .min ... .max))
        if plugin.runsJobs {
            placement.report(
                NodeLoad(running: 0, queued: 0, costInUse: ComputationCost(units: 0), capacity: plugin.capacity, accepting: true),
                from: system.node, at: .now)
        }
        self.placement = Mutex(placement)
    }

    /// This node's load now.
    var load: NodeLoad {
        let counters = counters.withLock { $0 }
        var queued = 0
        for limiter in limiters.values { queued += limiter.counts.queued }
        return NodeLoad(
            running: counters.running, queued: queued, costInUse: counters.costInUse, capacity: capacity,
            accepting: runsJobs && counters.accepting)
    }

    // MARK: Running jobs here

    /// Runs a call on the shared pool rather than on the calling thread (the network thread,
    /// for calls from other nodes).
    nonisolated(nonsending) func executeOffLoop(_ job: String, arguments: [UInt8], cost: ComputationCost) async -> JobOutcome {
        await withTaskExecutorPreference(globalConcurrentExecutor) {
            await self.execute(job, arguments: arguments, cost: cost)
        }
    }

    /// Runs a batch on the shared pool (see ``executeOffLoop(_:arguments:cost:)``).
    nonisolated(nonsending) func executeBatchOffLoop(_ job: String, items: [[UInt8]], cost: ComputationCost) async -> [JobOutcome] {
        await withTaskExecutorPreference(globalConcurrentExecutor) {
            await self.executeBatch(job, items: items, cost: cost)
        }
    }

    /// Runs the calls of a batch: one task per call for an `async` job, one after another for a
    /// synchronous one.
    @concurrent func executeBatch(_ job: String, items: [[UInt8]], cost: ComputationCost) async -> [JobOutcome] {
        guard let entry = entries[job], entry.isAsync, items.count > 1 else {
            var outcomes: [JobOutcome] = []
            outcomes.reserveCapacity(items.count)
            for item in items { outcomes.append(await execute(job, arguments: item, cost: cost)) }
            return outcomes
        }
        return await withTaskGroup(of: (Int, JobOutcome).self) { group in
            for (index, item) in items.enumerated() {
                group.addTask { (index, await self.execute(job, arguments: item, cost: cost)) }
            }
            var outcomes = [JobOutcome?](repeating: nil, count: items.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.map { $0 ?? .failure(self.carried(JobError(.failed, job: job, node: self.system.node, "no outcome"))) }
        }
    }

    /// Runs one call of `job` here: under its cap, counted in the load, with the cluster
    /// reachable from the job's code.
    @concurrent func execute(_ job: String, arguments: [UInt8], cost: ComputationCost) async -> JobOutcome {
        guard let entry = entries[job] else {
            let known = entries.keys.sorted().prefix(20).joined(separator: ", ")
            return .failure(carried(JobError(
                .unknownJob, job: job, node: system.node,
                "node \(system.settings.name) has no job named \(job) (it has: \(known.isEmpty ? "none" : known))")))
        }
        guard runsJobs, counters.withLock({ $0.accepting }) else {
            return .failure(carried(JobError(
                .notAccepting, job: job, node: system.node, "node \(system.settings.name) takes no jobs now")))
        }
        let limiter = limiters[job]
        if let limiter {
            do {
                guard try await limiter.acquire() else {
                    return .failure(carried(JobError(
                        .overloaded, job: job, node: system.node,
                        "node \(system.settings.name) runs \(entry.options.maxConcurrentPerNode ?? 0) calls of the job at once and its queue is full")))
                }
            } catch {
                return .failure(carried(JobError(.cancelled, job: job, node: system.node, "cancelled while it waited for a slot")))
            }
        }
        counters.withLock { counters in
            counters.running += 1
            counters.costInUse = counters.costInUse + cost
        }
        defer {
            counters.withLock { counters in
                counters.running -= 1
                counters.costInUse = ComputationCost(units: counters.costInUse.units - cost.units)
            }
            limiter?.release()
        }
        var reader = JobArgumentReader(bytes: arguments, decoder: system.makeDecoder())
        do {
            let result = try await Jobs.$currentRuntime.withValue(self) { try await entry.run(&reader) }
            return .value(Array(result.readableBytesView))
        } catch let fault as ArgumentFault {
            return .failure(carried(JobError(.argumentsMalformed, job: job, node: system.node, fault.message)))
        } catch {
            if Task.isCancelled, error is CancellationError {
                return .failure(carried(JobError(.cancelled, job: job, node: system.node, "the job was cancelled where it ran")))
            }
            logger.debug(
                "job threw", metadata: ["job": "\(job)", "job-id": "\(ClusterSystem.callMetadata.string(forKey: JobMetadata.jobID) ?? "-")", "error": "\(error)"])
            return .failure(carried(error))
        }
    }

    func carried(_ error: any Error) -> CarriedError {
        CarriedError(error, on: system)
    }

    // MARK: Lifecycle

    /// Takes no new jobs, and waits (up to `timeout`) for the running ones to end.
    func drain(timeout: Duration) async {
        counters.withLock { $0.accepting = false }
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end, counters.withLock({ $0.running }) > 0 {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func stop() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}
