import DequeModule
import Kumo
import NIOCore

/// One call of a fan-out, as it ended: its position among the arguments, and its result.
public struct FanoutItem<Value: Sendable>: Sendable {
    /// The position of the call's arguments in the fan-out's input.
    public let index: Int
    /// The call's result, or why it failed.
    public let result: Result<Value, any Error>
}

extension JobsRuntime {
    /// A call of a fan-out waiting to be sent.
    private struct Pending: Sendable {
        let index: Int
        var retry = RetryState()
        var pause = Duration.zero
    }

    /// A message's worth of calls, sent to one node.
    private struct Sent: Sendable {
        let items: [Pending]
        let node: NodeID
        let results: [AttemptResult]
        /// How long the node worked on the message (`nil`: not known).
        let worked: Duration?
    }

    /// A message should take about this long to come back: long enough that the work in it
    /// dwarfs the message, short enough that the last messages do not keep one node busy while
    /// the others idle.
    static let batchTarget = Duration.milliseconds(10)

    /// Spreads the calls `items` over the nodes, at most ``FanoutOptions/maxInFlight`` at once and
    /// several to a message, and hands each call's final result to `deliver` as it comes
    /// (`deliver` returns `false` to stop: the calls still in flight are cancelled).
    func fanout(
        _ job: String, jobOptions: JobOptions, items: [[UInt8]], options fanoutOptions: FanoutOptions,
        deliver: (Int, Result<ByteBuffer, any Error>) -> Bool
    ) async {
        let options = jobOptions.merged(with: fanoutOptions.call)
        let strategy = options.placement ?? defaultPlacement
        let id = Self.makeJobID()
        let progress = fanoutOptions.progress
        progress?.begin(total: items.count)
        defer { progress?.end() }
        guard !items.isEmpty else { return }

        let workers = max(1, placement.withLock { $0.candidates.count })
        // A call with a timeout goes alone, so the timeout is the call's own. Otherwise enough
        // messages per node to keep every node busy while replies travel.
        let largest = options.timeout != nil
            ? 1
            : min(fanoutOptions.batchSize ?? max(1, min(256, items.count / (workers * 4))), fanoutOptions.maxInFlight)
        // Without a size given, messages shrink to what returns within `batchTarget`, by the
        // time per call the answers so far show.
        var batchSize = largest
        var perCall: Double?
        var queue = Deque((0..<items.count).map { Pending(index: $0) })
        var inFlight = 0

        await withTaskGroup(of: Sent.self) { group in
            var stopped = false
            /// Sends what the window allows.
            func launch() {
                while !stopped, inFlight < fanoutOptions.maxInFlight, let first = queue.first {
                    // A call being retried goes alone, with its own exclusions and pause.
                    let alone = first.retry.excluded.count > 0 || first.pause > .zero
                    let count = alone ? 1 : min(batchSize, fanoutOptions.maxInFlight - inFlight, queue.count)
                    guard let node = choose(strategy, cost: options.cost, count: count, excluding: first.retry.excluded) else {
                        var head = queue.removeFirst()
                        if let pause = head.retry.noNodeLeft() {
                            // Every node refused or failed it: try them all again (after a pause,
                            // when they were full).
                            head.pause = pause
                            queue.prepend(head)
                            continue
                        }
                        let error = head.retry.lastFailure ?? noNodes(job, strategy)
                        stopped = !deliver(head.index, .failure(error))
                        progress?.add(completed: 0, failed: 1)
                        continue
                    }
                    var batch: [Pending] = []
                    batch.reserveCapacity(count)
                    for _ in 0..<count { batch.append(queue.removeFirst()) }
                    inFlight += batch.count
                    let pause = batch[0].pause
                    let arguments = batch.map { items[$0.index] }
                    group.addTask {
                        if pause > .zero { try? await Task.sleep(for: pause) }
                        let (results, worked) = await self.attemptBatch(
                            job, id: id, items: arguments, cost: options.cost, timeout: options.timeout, on: node)
                        return Sent(items: batch, node: node, results: results, worked: worked)
                    }
                }
            }

            launch()
            while !stopped, let sent = await group.next() {
                inFlight -= sent.items.count
                if fanoutOptions.batchSize == nil, largest > 1, sent.items.count > 1, let worked = sent.worked {
                    let seconds = Double(worked.nanoseconds) / 1e9
                    let observed = seconds / Double(sent.items.count)
                    let smoothed = perCall.map { 0.7 * $0 + 0.3 * observed } ?? observed
                    perCall = smoothed
                    let target = Double(Self.batchTarget.nanoseconds) / 1e9
                    batchSize = max(1, min(largest, Int(target / max(smoothed, 1e-9))))
                }
                var completed = 0
                var failed = 0
                for (pending, result) in zip(sent.items, sent.results) where !stopped {
                    var pending = pending
                    switch pending.retry.next(after: result, on: sent.node, options: options) {
                    case .done(let outcome):
                        if case .success = outcome { completed += 1 } else { failed += 1 }
                        stopped = !deliver(pending.index, outcome)
                    case .again(let pause):
                        pending.pause = pause
                        queue.append(pending)
                    }
                }
                progress?.add(completed: completed, failed: failed)
                if !stopped { launch() }
            }
            group.cancelAll()
        }
    }

    /// One attempt of several calls on `node`, in one message.
    func attemptBatch(
        _ job: String, id: String, items: [[UInt8]], cost: ComputationCost, timeout: Duration?, on node: NodeID
    ) async -> (results: [AttemptResult], worked: Duration?) {
        if items.count == 1 {
            return ([await attemptCall(job, id: id, arguments: items[0], cost: cost, timeout: timeout, on: node)], nil)
        }
        if node == system.node {
            defer { placement.withLock { $0.returned(items.count, cost: cost, from: node) } }
            let start = ContinuousClock.now
            let outcomes = await executeBatch(job, items: items, cost: cost)
            return (outcomes.map { classify($0, job: job, node: node) }, .now - start)
        }
        do {
            let reply = try await callWorker(on: node, id: id, timeout: timeout) { worker in
                try await worker.runBatch(JobBatchRequest(job: job, items: items, cost: cost))
            }
            record(reply.load, from: node, returning: items.count, cost: cost)
            guard reply.outcomes.count == items.count else {
                let error = JobError(.failed, job: job, node: node, "node \(node) answered \(reply.outcomes.count) of \(items.count) calls")
                return (Array(repeating: .final(error), count: items.count), nil)
            }
            return (reply.outcomes.map { classify($0, job: job, node: node) }, .nanoseconds(Int64(clamping: reply.nanoseconds)))
        } catch {
            placement.withLock { $0.returned(items.count, cost: cost, from: node) }
            return (Array(repeating: classify(callError: error, job: job, node: node, timeout: timeout), count: items.count), nil)
        }
    }
}
