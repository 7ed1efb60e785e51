import Kumo
import KumoJobs
import KumoTestJobs
import KumoTestKit
import Testing

/// A driver node in this process that runs no jobs, and `KumoTestNode` workers (OS processes
/// running the test jobs) that joined it.
struct JobProcesses {
    let driver: ClusterSystem
    let workers: [(process: ChildProcess, node: NodeID, name: String)]

    static func start(workers count: Int) async throws -> JobProcesses {
        let secret = "jobs-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        var settings = ClusterSettings(name: "driver", secret: secret)
        settings.port = 0
        settings.logger.logLevel = .critical
        settings.membership = TestCluster.testMembership()
        settings.plugins.install(allTestJobs(runsJobs: false))
        let driver = try await ClusterSystem(settings: settings)
        var workers: [(ChildProcess, NodeID, String)] = []
        do {
            for index in 0..<count {
                let name = "worker\(index)"
                let child = try await ChildProcess.launch(
                    executable: siblingExecutable(named: "KumoTestNode"),
                    arguments: [
                        "node", "--name", name, "--port", "0", "--secret", secret, "--log-level", "critical",
                        "--seed", "127.0.0.1:\(driver.node.address.port)",
                    ],
                    readyPrefix: "node ready: ")
                let field = child.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }
                let address = try #require(field.flatMap { NodeAddress(parsing: $0.dropFirst("address=".count)) })
                workers.append((child, try await driver.connect(to: address), name))
            }
            try await Jobs.waitForWorkers(count, on: driver, timeout: .seconds(20))
        } catch {
            for worker in workers { worker.0.kill() }
            await driver.shutdown()
            throw error
        }
        return JobProcesses(driver: driver, workers: workers)
    }

    func stop() async {
        await driver.shutdown()
        for worker in workers {
            worker.process.kill()
            _ = await worker.process.waitForExit(timeout: .seconds(5))
        }
    }

    func run(_ body: () async throws -> Void) async throws {
        do {
            try await Jobs.withCluster(driver, body)
            await stop()
        } catch {
            await stop()
            throw error
        }
    }
}

extension ClusterTimingTests {
    @Suite("Jobs across OS processes", .serialized, .timeLimit(.minutes(2)))
    struct JobProcessTests {
        @Test("a fan-out spreads over worker processes, and a job that calls jobs works across them")
        func spread() async throws {
            let cluster = try await JobProcesses.start(workers: 2)
            try await cluster.run { () async throws in
                #expect(try await squareRemoteFanout(Array(0..<2000)) == (0..<2000).map { $0 * $0 })
                #expect(Set(try await whereAmIRemoteFanout(count: 40, options: FanoutOptions(batchSize: 1))) == ["worker0", "worker1"])
                #expect(try await pythagoreanRemote(a: 5, b: 12) == 13)
                await #expect(throws: Overdrawn(balance: 10)) { try await withdrawRemote(11) }
            }
        }

        @Test("idempotent jobs of a node killed mid-fan-out are retried on the other node")
        func retriesAfterKill() async throws {
            let cluster = try await JobProcesses.start(workers: 2)
            try await cluster.run { () async throws in
                let victim = cluster.workers[0]
                let killer = Task {
                    try await Task.sleep(for: .milliseconds(400))
                    victim.process.kill()
                }
                let names = try await slowIdempotentRemoteFanout(
                    Array(repeating: 150, count: 40), options: FanoutOptions(maxInFlight: 8, batchSize: 2))
                try await killer.value
                #expect(names.count == 40)
                #expect(names.contains("worker1"))
                #expect(Set(names).isSubset(of: ["worker0", "worker1"]))
                // Whatever worker0 had not finished when it died came back from worker1.
                #expect(names.filter { $0 == "worker0" }.count < 20)
            }
        }

        @Test("a job that is not idempotent fails when its node dies, naming the job and the node")
        func noRetryAfterKill() async throws {
            let cluster = try await JobProcesses.start(workers: 2)
            try await cluster.run { () async throws in
                let victim = cluster.workers[0]
                let handle = slowOnceRemoteAsync(5_000, options: .pinned(to: victim.node))
                try await Task.sleep(for: .milliseconds(400))
                victim.process.kill()
                do {
                    _ = try await handle.value
                    Issue.record("the job returned from a killed node")
                } catch let error as JobError {
                    #expect(error.code == .nodeLost)
                    #expect(error.job == "KumoTestJobs.slowOnce(_:)")
                    #expect(error.node == victim.node)
                    #expect(error.message.contains("not idempotent"))
                }
                // The other worker still serves.
                #expect(try await squareRemote(9) == 81)
            }
        }

        @Test("cancelling a job cancels it in the process that runs it within 100 ms")
        func cancellationAcrossProcesses() async throws {
            let cluster = try await JobProcesses.start(workers: 1)
            try await cluster.run { () async throws in
                let worker = cluster.workers[0]
                let handle = sleeperRemoteAsync(60_000, token: "far", options: .pinned(to: worker.node))
                try await Task.sleep(for: .milliseconds(500))
                let clock = ContinuousClock()
                let cancelled = clock.now
                handle.cancel()
                var seenAfter: Duration?
                while clock.now - cancelled < .seconds(3) {
                    if worker.process.outputLines.contains("cancelled far") {
                        seenAfter = clock.now - cancelled
                        break
                    }
                    try await Task.sleep(for: .milliseconds(2))
                }
                let delay = try #require(seenAfter, "the worker never saw the cancellation")
                #expect(delay < .milliseconds(100))
                await #expect(throws: JobError.self) { try await handle.value }
            }
        }
    }
}
