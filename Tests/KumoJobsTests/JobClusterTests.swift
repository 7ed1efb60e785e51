import Kumo
import KumoJobs
import KumoTestJobs
import KumoTestKit
import Testing

/// Starts `count` nodes in this process, every one running the test jobs, and waits until node
/// 0 sends jobs to all of them.
func withJobCluster<T>(
    _ count: Int, placement: PlacementStrategy = .leastLoaded,
    jobs: (Int) -> Jobs = { _ in allTestJobs() },
    _ body: (TestCluster) async throws -> T
) async throws -> T {
    let cluster = try await TestCluster.start(nodes: count) { index, settings in
        var plugin = jobs(index)
        plugin.placement = placement
        settings.plugins.install(plugin)
    }
    do {
        try await cluster.waitForConvergence()
        let workers = (0..<count).filter { jobs($0).runsJobs }.count
        try await Jobs.waitForWorkers(workers, on: cluster.nodes[0])
        let result = try await Jobs.withCluster(cluster.nodes[0]) { try await body(cluster) }
        await cluster.shutdown()
        return result
    } catch {
        await cluster.shutdown()
        throw error
    }
}

extension ClusterTimingTests {
    @Suite("Jobs on nodes in one process", .serialized, .timeLimit(.minutes(2)))
    struct JobClusterTests {
        @Test("every variant of square and pythagorean, on this node and on others")
        func variants() async throws {
            try await withJobCluster(3) { cluster in
                #expect(square(3) == 9)
                #expect(try await squareLocal(4) == 16)
                #expect(try await squareRemote(5) == 25)
                let local = squareLocalAsync(6)
                let remote = squareRemoteAsync(7)
                #expect(try await local.value == 36)
                #expect(try await remote.value == 49)
                #expect(try remote.poll() == 49)
                #expect(try await squareRemoteFanout(Array(1...50)) == (1...50).map { $0 * $0 })
                // A job that calls jobs.
                #expect(try await pythagoreanRemote(a: 3, b: 4) == 5)
                #expect(try await pythagoreanRemoteFanout([(3, 4), (5, 12), (8, 15)]) == [5, 13, 17])
                #expect(try await Geometry.cubeRemote(3) == 27)
                try await touchRemote("void")
                // Every node ran some of a fan-out.
                let names = try await whereAmIRemoteFanout(count: 60)
                #expect(Set(names) == ["node0", "node1", "node2"])
            }
        }

        @Test("poll is nil until the job is done; the handle's value then")
        func poll() async throws {
            try await withJobCluster(2) { _ in
                let handle = sleeperRemoteAsync(300, token: "poll")
                try await Task.sleep(for: .milliseconds(50))
                #expect(try handle.poll() == nil)
                #expect(!handle.isFinished)
                let name = try await handle.value
                #expect(try handle.poll() == name)
            }
        }

        @Test("round-robin spreads calls evenly over the nodes; pinned goes to the one node")
        func spreading() async throws {
            try await withJobCluster(3, placement: .roundRobin) { cluster in
                var counts: [String: Int] = [:]
                for _ in 0..<30 { counts[try await whereAmIRemote(), default: 0] += 1 }
                #expect(counts == ["node0": 10, "node1": 10, "node2": 10])
                let pinned = JobCallOptions.pinned(to: cluster.nodes[2].node)
                for _ in 0..<5 { #expect(try await whereAmIRemote(options: pinned) == "node2") }
                #expect(try await whereAmIRemote(options: JobCallOptions(placement: .local)) == "node0")
            }
        }

        @Test("least-loaded sends calls to the idle nodes while one is busy")
        func leastLoaded() async throws {
            try await withJobCluster(3) { cluster in
                let busy = cluster.nodes[1].node
                let long = (0..<6).map { _ in sleeperRemoteAsync(1500, token: "busy", options: .pinned(to: busy)) }
                try await Task.sleep(for: .milliseconds(400))
                var counts: [String: Int] = [:]
                let quick = (0..<8).map { _ in sleeperRemoteAsync(300, token: "quick") }
                for handle in quick { counts[try await handle.value, default: 0] += 1 }
                #expect(counts["node1"] == nil, "calls went to the busy node: \(counts)")
                for handle in long { _ = try await handle.value }
            }
        }

        @Test("cost-aware placement sends heavy jobs to the node with room")
        func costAware() async throws {
            try await withJobCluster(
                3, placement: .costAware,
                jobs: { allTestJobs(capacity: ComputationCost(units: $0 == 2 ? 8 : 0.5)) }
            ) { _ in
                let names = try await heavyRemoteFanout(Array(repeating: 50, count: 6), options: FanoutOptions(batchSize: 1))
                #expect(Set(names) == ["node2"])
                // A computation that estimates its own cost, through the execution engine.
                #expect(try await ExecutionEngine().execute(PrimeCount(below: 100)) == 25)
                #expect(try await ExecutionEngine().execute(all: [10, 20, 30].map { PrimeCount(below: $0) }) == [4, 8, 10])
            }
        }

        @Test("a Codable error comes back as itself; others as JobError naming job, node and cause")
        func errors() async throws {
            try await withJobCluster(2) { cluster in
                await #expect(throws: Overdrawn(balance: 10)) { try await withdrawRemote(20) }
                #expect(try await withdrawRemote(3) == 7)
                do {
                    _ = try await misbehaveRemote(options: .pinned(to: cluster.nodes[1].node))
                    Issue.record("misbehave returned")
                } catch let error as JobError {
                    #expect(error.code == .failed)
                    #expect(error.job == "KumoTestJobs.misbehave()")
                    #expect(error.node == cluster.nodes[1].node)
                    #expect(error.message.contains("Unspeakable"))
                    #expect(error.message.contains("the unspeakable happened"))
                }
                // A job the chosen node does not know.
                let unknown = JobDefinition<Int>(name: "Nowhere.nothing", function: "", fileID: "", isAsync: false) { _ in 0 }
                do {
                    _ = try await unknown.remote(options: .pinned(to: cluster.nodes[1].node)) { _ in }
                    Issue.record("an unknown job returned")
                } catch let error as JobError {
                    #expect(error.code == .unknownJob)
                    #expect(error.message.contains("Nowhere.nothing"))
                    #expect(error.message.contains("node1"))
                }
                // Collect-all keeps every result.
                let results = await withdrawRemoteFanoutResults([1, 50, 2])
                #expect(try results[0].get() == 9)
                #expect(throws: Overdrawn(balance: 10)) { () throws -> Int in try results[1].get() }
                #expect(try results[2].get() == 8)
                // Fail-fast throws the first failure.
                await #expect(throws: Overdrawn(balance: 10)) { try await withdrawRemoteFanout([1, 50, 2]) }
            }
        }

        @Test("a timeout on the attribute or per call fails the call and cancels the job where it runs")
        func timeouts() async throws {
            try await withJobCluster(2) { cluster in
                let remote = JobCallOptions.pinned(to: cluster.nodes[1].node)
                #expect(try await impatientRemote(10, options: remote) == 10)
                do {
                    _ = try await impatientRemote(5_000, options: remote)
                    Issue.record("the call outlived its timeout")
                } catch let error as JobError {
                    #expect(error.code == .timedOut)
                    #expect(error.node == cluster.nodes[1].node)
                }
                let clock = ContinuousClock()
                let started = clock.now
                var options = remote
                options.timeout = .milliseconds(300)
                await #expect(throws: JobError.self) { try await sleeperRemote(10_000, token: "timeout", options: options) }
                #expect(clock.now - started < .seconds(2))
                try await Task.sleep(for: .milliseconds(200))
                #expect(JobProbe.cancelledAt.withLock { $0["timeout"] } != nil, "the job kept running after its timeout")
            }
        }

        @Test("cancelling a handle cancels the job on its node within 100 ms")
        func cancellation() async throws {
            try await withJobCluster(2) { cluster in
                let handle = sleeperRemoteAsync(60_000, token: "cancel-1", options: .pinned(to: cluster.nodes[1].node))
                try await Task.sleep(for: .milliseconds(300))
                let cancelled = ContinuousClock.now
                handle.cancel()
                await #expect(throws: JobError.self) { try await handle.value }
                try await Task.sleep(for: .milliseconds(150))
                let seen = try #require(JobProbe.cancelledAt.withLock { $0["cancel-1"] }, "the remote job never saw its cancellation")
                #expect(seen - cancelled < .milliseconds(100))
            }
        }

        @Test("the concurrency cap per node and the fan-out bound are never exceeded; progress adds up")
        func capsAndProgress() async throws {
            try await withJobCluster(2) { _ in
                JobProbe.reset()
                let progress = FanoutProgress()
                let snapshots = Task {
                    var seen: [FanoutProgress.Snapshot] = []
                    for await snapshot in progress.updates { seen.append(snapshot) }
                    return seen
                }
                let names = try await cappedRemoteFanout(Array(repeating: 30, count: 40), options: FanoutOptions(progress: progress))
                #expect(names.count == 40)
                // 3 per node, two nodes.
                #expect(JobProbe.maxRunning.load(ordering: .relaxed) <= 6)
                #expect(JobProbe.maxRunning.load(ordering: .relaxed) >= 2)
                let seen = await snapshots.value
                #expect(seen.last == FanoutProgress.Snapshot(completed: 40, failed: 0, total: 40))
                #expect(seen.map(\.completed) == seen.map(\.completed).sorted())

                // A fan-out bound of 4 in flight: never more running at once.
                JobProbe.reset()
                _ = try await sleeperRemoteFanout(
                    (0..<24).map { _ in (ms: 20, token: "bound") }, options: FanoutOptions(maxInFlight: 4))
                _ = try await cappedRemoteFanout(Array(repeating: 10, count: 24), options: FanoutOptions(maxInFlight: 2))
                #expect(JobProbe.maxRunning.load(ordering: .relaxed) <= 2)

                // Failures count as failed.
                let failing = FanoutProgress()
                _ = await withdrawRemoteFanoutResults([1, 20, 30, 2], options: FanoutOptions(progress: failing))
                #expect(failing.current == FanoutProgress.Snapshot(completed: 2, failed: 2, total: 4))
            }
        }

        @Test("calls beyond a cap with overflow .elsewhere go to another node, never over the cap")
        func elsewhere() async throws {
            try await withJobCluster(2) { _ in
                JobProbe.reset()
                let names = try await solitaryRemoteFanout(
                    Array(repeating: 40, count: 12), options: FanoutOptions(maxInFlight: 6, batchSize: 1))
                #expect(names.count == 12)
                #expect(Set(names) == ["node0", "node1"])
                // One per node at most, two nodes.
                #expect(JobProbe.maxRunning.load(ordering: .relaxed) <= 2)
            }
        }

        @Test("a node that leaves finishes its running jobs and takes no new ones")
        func leaving() async throws {
            try await withJobCluster(3) { cluster in
                let leaver = cluster.nodes[2]
                let running = sleeperRemoteAsync(600, token: "leaving", options: .pinned(to: leaver.node))
                try await Task.sleep(for: .milliseconds(150))
                let leave = Task { await leaver.leave() }
                try await Task.sleep(for: .milliseconds(100))
                // New calls go to the others while it drains.
                var names: Set<String> = []
                for _ in 0..<10 { names.insert(try await whereAmIRemote()) }
                #expect(!names.contains("node2"))
                #expect(try await running.value == "node2")
                await leave.value
            }
        }

        @Test("the stream yields each result as it comes, with its index")
        func stream() async throws {
            try await withJobCluster(2) { _ in
                var seen: [Int: Int] = [:]
                for await item in squareRemoteFanoutStream(Array(0..<100)) {
                    seen[item.index] = try item.result.get()
                }
                #expect(seen.count == 100)
                #expect(seen.allSatisfy { $0.value == $0.key * $0.key })
                // Fail-fast ends the stream after the first failure.
                var failures = 0
                for await item in withdrawRemoteFanoutStream([1, 50, 2], options: FanoutOptions(maxInFlight: 1, batchSize: 1)) {
                    if case .failure = item.result { failures += 1 }
                }
                #expect(failures == 1)
            }
        }

        @Test("jobs run off the network thread; no cluster is a clear error")
        func threadsAndNoCluster() async throws {
            try await withJobCluster(2) { (cluster) async throws in
                #expect(try await onNetworkThreadRemote(options: .pinned(to: cluster.nodes[1].node)) == false)
                #expect(try await onNetworkThreadRemote(options: JobCallOptions(placement: .local)) == false)
            }
            do {
                _ = try await squareRemote(2)
                Issue.record("a call with no cluster returned")
            } catch let error as JobError {
                #expect(error.code == .noCluster)
                #expect(error.job == "KumoTestJobs.square(_:)")
            }
        }

        @Test("a node alone in its cluster runs remote calls itself")
        func alone() async throws {
            try await withJobCluster(1) { (cluster) async throws in
                #expect(try await whereAmIRemote() == "node0")
                #expect(try await squareRemoteFanout([1, 2, 3]) == [1, 4, 9])
            }
        }
    }
}

/// The parent of the suites that measure time, so that they run one at a time and not beside
/// the other suites of this test bundle.
@Suite(.serialized) enum ClusterTimingTests {}
