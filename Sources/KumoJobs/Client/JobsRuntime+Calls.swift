import Kumo
import NIOCore

/// How one attempt of a call ended.
enum AttemptResult: Sendable {
    case value(ByteBuffer)
    /// Refused before it ran (queue full, node leaving): any job may go elsewhere.
    case neverRan(JobError)
    /// The node died or was cut off, or the call timed out: only idempotent jobs are retried.
    case nodeFailed(JobError)
    /// The job itself threw this (already decoded as itself where possible).
    case thrown(any Error)
    /// Nothing to retry: cancelled, unknown job, malformed arguments, ….
    case final(any Error)
}

/// The retry rules for one call, as a value: what an attempt's result means for the next.
struct RetryState: Sendable {
    enum Next: Sendable {
        case done(Result<ByteBuffer, any Error>)
        /// Try again (on another node when there is one) after the pause.
        case again(Duration)
    }

    private(set) var attempt = 0
    private(set) var refusals = 0
    /// The nodes this call failed on, left out of the next choice.
    var excluded: Set<NodeID> = []
    private(set) var lastFailure: JobError?

    mutating func next(after result: AttemptResult, on node: NodeID, options: JobOptions) -> Next {
        switch result {
        case .value(let buffer):
            return .done(.success(buffer))
        case .neverRan(let error):
            // Refused before it ran: any job may go elsewhere, and it does not use up a retry.
            lastFailure = error
            excluded.insert(node)
            refusals += 1
            return .again(.zero)
        case .nodeFailed(let error):
            guard attempt < options.effectiveRetries else {
                if options.idempotent || error.code == .timedOut { return .done(.failure(error)) }
                return .done(.failure(JobError(
                    error.code, job: error.job, node: error.node, error.message + "; not retried, as the job is not idempotent")))
            }
            attempt += 1
            lastFailure = error
            excluded.insert(node)
            return .again(options.retry.backoff(before: attempt))
        case .thrown(let error):
            guard options.retry.retriesThrownErrors, attempt < options.effectiveRetries else { return .done(.failure(error)) }
            attempt += 1
            return .again(options.retry.backoff(before: attempt))
        case .final(let error):
            return .done(.failure(error))
        }
    }

    /// No node is left to try: after refusals only, every node may be tried again after a pause
    /// (`nil`: give up). After a failed attempt, the failed nodes may be tried again at once.
    mutating func noNodeLeft() -> Duration? {
        guard !excluded.isEmpty else { return nil }
        excluded = []
        if lastFailure?.neverRan == true {
            guard refusals < 100_000 else { return nil }
            return .milliseconds(min(50, max(1, refusals / 8)))
        }
        return .zero
    }
}

extension JobsRuntime {
    /// A fresh job id: 16 hex digits.
    static func makeJobID() -> String {
        let value = UInt64.random(in: .min ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The node for `count` calls of `cost`, or `nil`; a node alone in its cluster runs its
    /// calls itself. The calls count as sent to the node until ``attemptCall`` or
    /// ``attemptBatch`` returns.
    func choose(
        _ strategy: PlacementStrategy, cost: ComputationCost, count: Int = 1, excluding excluded: Set<NodeID>
    ) -> NodeID? {
        refreshOwnLoad()
        let now = ContinuousClock.now
        // The calls count as sent in the same step, so the next choice, made before they leave,
        // already sees them.
        let node = placement.withLock { placement in
            let node = placement.choose(strategy, cost: cost, count: count, excluding: excluded, at: now)
            if let node { placement.sent(count, cost: cost, to: node) }
            return node
        }
        if node == nil, excluded.isEmpty, members.withLock({ $0.isEmpty }) { return system.node }
        return node
    }

    /// Runs one call of `job`, chosen, retried and timed as its options say, and decodes its
    /// result.
    func call<Value>(_ job: JobDefinition<Value>, arguments: JobArguments, options callOptions: JobCallOptions) async throws -> Value {
        let options = job.options.merged(with: callOptions)
        let strategy = options.placement ?? defaultPlacement
        let id = Self.makeJobID()
        let bytes = arguments.bytes
        var retry = RetryState()
        while true {
            if Task.isCancelled { throw JobError(.cancelled, job: job.name, node: nil, "the call was cancelled") }
            guard let node = choose(strategy, cost: options.cost, excluding: retry.excluded) else {
                if let pause = retry.noNodeLeft() {
                    try? await Task.sleep(for: pause)
                    continue
                }
                throw retry.lastFailure ?? noNodes(job.name, strategy)
            }
            let result = await attemptCall(job.name, id: id, arguments: bytes, cost: options.cost, timeout: options.timeout, on: node)
            switch retry.next(after: result, on: node, options: options) {
            case .done(.success(let buffer)):
                do {
                    return try job.decode(buffer, system.makeDecoder())
                } catch {
                    throw JobError(.resultMalformed, job: job.name, node: node, "the result does not decode as \(Value.self): \(error)")
                }
            case .done(.failure(let error)):
                logger.debug("job failed", metadata: ["job": "\(job.name)", "job-id": "\(id)", "node": "\(node)", "error": "\(error)"])
                throw error
            case .again(let pause):
                logger.debug("retrying job", metadata: ["job": "\(job.name)", "job-id": "\(id)", "after": "\(retry.lastFailure.map { "\($0)" } ?? "-")"])
                if pause > .zero { try? await Task.sleep(for: pause) }
            }
        }
    }

    func noNodes(_ job: String, _ strategy: PlacementStrategy) -> JobError {
        JobError(.noNodes, job: job, node: nil, "no node takes jobs (\(strategy)); install Jobs with runsJobs: true on a member")
    }

    /// One attempt of one call on `node` (this node runs it in place).
    func attemptCall(
        _ job: String, id: String, arguments: [UInt8], cost: ComputationCost, timeout: Duration?, on node: NodeID
    ) async -> AttemptResult {
        if node == system.node {
            defer { placement.withLock { $0.returned(1, cost: cost, from: node) } }
            return await attemptHere(job, id: id, timeout: timeout) {
                await self.execute(job, arguments: arguments, cost: cost)
            }
        }
        do {
            let reply = try await callWorker(on: node, id: id, timeout: timeout) { worker in
                try await worker.run(JobRequest(job: job, arguments: arguments, cost: cost))
            }
            record(reply.load, from: node, returning: 1, cost: cost)
            return classify(reply.outcome, job: job, node: node)
        } catch {
            placement.withLock { $0.returned(1, cost: cost, from: node) }
            return classify(callError: error, job: job, node: node, timeout: timeout)
        }
    }

    /// Calls `node`'s worker with `body`, the job id in the call metadata and the job's timeout
    /// (or none) as the deadline.
    func callWorker<Reply: Sendable>(
        on node: NodeID, id: String, timeout: Duration?, _ body: (JobWorker) async throws -> Reply
    ) async throws -> Reply {
        let worker = try JobWorker.resolve(id: .named(JobWorker.actorName, on: node), using: system)
        return try await system.withCallMetadata(JobMetadata.jobID, id) {
            try await system.withCallTimeout(timeout ?? Self.noTimeout) { try await body(worker) }
        }
    }

    /// Runs `body` here, cancelling it when `timeout` passes.
    func attemptHere(
        _ job: String, id: String, timeout: Duration?, _ body: @escaping @Sendable () async -> JobOutcome
    ) async -> AttemptResult {
        guard let timeout else { return classify(await body(), job: job, node: system.node) }
        return await withTaskGroup(of: AttemptResult?.self) { group in
            group.addTask { self.classify(await body(), job: job, node: self.system.node) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .nodeFailed(JobError(
                    .timedOut, job: job, node: self.system.node, "the job did not return within \(timeout)"))
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .final(JobError(.cancelled, job: job, node: system.node, "the call was cancelled"))
        }
    }

    /// A deadline far enough away to mean none: calls wait for as long as the job takes.
    static let noTimeout = Duration.seconds(100 * 365 * 86_400)

    /// What a worker's answer means to the caller.
    func classify(_ outcome: JobOutcome, job: String, node: NodeID) -> AttemptResult {
        switch outcome {
        case .value(let bytes):
            return .value(ByteBuffer(bytes: bytes))
        case .failure(let carried):
            let error = carried.error(on: system)
            if let error = error as? JobError {
                switch error.code {
                case .overloaded, .notAccepting: return .neverRan(error)
                case .failed: return .thrown(error)
                default: return .final(error)
                }
            }
            if let error = error as? ClusterError, error.code == .remoteError {
                return .thrown(JobError(
                    .failed, job: job, node: node, "\(error.errorType ?? "an error") was thrown: \(error.message)"))
            }
            return .thrown(error)
        }
    }

    /// What a failed call to a worker means to the caller.
    func classify(callError error: any Error, job: String, node: NodeID, timeout: Duration?) -> AttemptResult {
        guard let error = error as? ClusterError else { return .final(error) }
        switch error.code {
        case .timeout:
            return .nodeFailed(JobError(
                .timedOut, job: job, node: node, "no result from node \(node) within \(timeout.map { "\($0)" } ?? "the call's deadline")"))
        case .connectionLost, .nodeUnreachable, .nodeGone, .shuttingDown, .downed:
            placement.withLock { $0.remove(node) }
            return .nodeFailed(JobError(.nodeLost, job: job, node: node, "node \(node) was lost while it ran the job: \(error.message)"))
        case .unknownActor:
            placement.withLock { $0.remove(node) }
            return .final(JobError(.unknownJob, job: job, node: node, "node \(node) does not run the Jobs plugin"))
        case .cancelled:
            return .final(JobError(.cancelled, job: job, node: node, "the call was cancelled"))
        default:
            return .final(error)
        }
    }
}
