import Kumo
import KumoJobs
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Jobs the tests run in one process and in the test program `KumoTestNode`, which installs
// them all (``allTestJobs``).

/// lucidity's `square`.
@Job public func square(_ a: Int) -> Int { a * a }

/// lucidity's `pythagorean`: a job that calls jobs.
@Job public func pythagorean(a: Int, b: Int) async throws -> Double {
    let x = squareRemoteAsync(a)
    let y = squareRemoteAsync(b)
    return Double(try await x.value + y.value).squareRoot()
}

/// The name of the node the job ran on.
@Job public func whereAmI() -> String { Jobs.current?.settings.name ?? "?" }

/// Static jobs live in their type.
public enum Geometry {
    @Job public static func cube(_ x: Int) -> Int { x * x * x }
}

/// A Codable error a job throws: the caller gets it back as itself.
public struct Overdrawn: Error, Codable, Equatable, Sendable {
    public var balance: Int
    public init(balance: Int) { self.balance = balance }
}

/// An error that is not Codable.
public struct Unspeakable: Error, CustomStringConvertible {
    public var description: String { "the unspeakable happened" }
}

@Job public func withdraw(_ amount: Int) throws -> Int {
    if amount > 10 { throw Overdrawn(balance: 10) }
    return 10 - amount
}

@Job public func misbehave() throws -> Int { throw Unspeakable() }

/// What the test jobs saw, in this process.
public enum JobProbe {
    /// When each sleeper with a token saw its cancellation.
    public static let cancelledAt = Mutex<[String: ContinuousClock.Instant]>([:])
    public static let running = Atomic<Int>(0)
    public static let maxRunning = Atomic<Int>(0)
    /// Calls of `flaky` by node name.
    public static let runs = Mutex<[String: Int]>([:])

    public static func reset() {
        running.store(0, ordering: .relaxed)
        maxRunning.store(0, ordering: .relaxed)
        runs.withLock { $0 = [:] }
        cancelledAt.withLock { $0 = [:] }
    }

    static func enter() {
        let now = running.add(1, ordering: .relaxed).newValue
        var seen = maxRunning.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = maxRunning.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    static func leave() { running.subtract(1, ordering: .relaxed) }

    static func count(on node: String) {
        runs.withLock { $0[node, default: 0] += 1 }
    }
}

/// Sleeps `ms` milliseconds; a cancellation is recorded under `token` (and printed, for the
/// tests that watch a node's output) before it is thrown.
@Job public func sleeper(_ ms: Int, token: String) async throws -> String {
    do {
        try await Task.sleep(for: .milliseconds(ms))
    } catch {
        JobProbe.cancelledAt.withLock { $0[token] = .now }
        print("cancelled \(token)")
        fflush(nil)
        throw error
    }
    return Jobs.current?.settings.name ?? "?"
}

/// Runs at most 3 at once per node; each takes `ms` milliseconds.
@Job(options: JobOptions(maxConcurrentPerNode: 3, overflow: .queue(limit: 1000)))
public func capped(_ ms: Int) async throws -> String {
    JobProbe.enter()
    defer { JobProbe.leave() }
    try await Task.sleep(for: .milliseconds(ms))
    return Jobs.current?.settings.name ?? "?"
}

/// Runs one at a time per node; calls beyond go to another node at once.
@Job(options: JobOptions(maxConcurrentPerNode: 1, overflow: .elsewhere))
public func solitary(_ ms: Int) async throws -> String {
    JobProbe.enter()
    defer { JobProbe.leave() }
    try await Task.sleep(for: .milliseconds(ms))
    return Jobs.current?.settings.name ?? "?"
}

/// Idempotent and slow: the job a killed node's fan-out retries elsewhere.
@Job(options: JobOptions(idempotent: true, retry: RetryPolicy(retries: 3, initialBackoff: .milliseconds(10))))
public func slowIdempotent(_ ms: Int) async throws -> String {
    let node = Jobs.current?.settings.name ?? "?"
    JobProbe.count(on: node)
    try await Task.sleep(for: .milliseconds(ms))
    return node
}

/// Slow and not idempotent: never retried.
@Job public func slowOnce(_ ms: Int) async throws -> String {
    let node = Jobs.current?.settings.name ?? "?"
    JobProbe.count(on: node)
    try await Task.sleep(for: .milliseconds(ms))
    return node
}

/// A job with a timeout on its attribute.
@Job(options: JobOptions(timeout: .milliseconds(200)))
public func impatient(_ ms: Int) async throws -> Int {
    try await Task.sleep(for: .milliseconds(ms))
    return ms
}

/// A heavy job, for cost-aware placement.
@Job(options: JobOptions(cost: .heavy))
public func heavy(_ ms: Int) async throws -> String {
    try await Task.sleep(for: .milliseconds(ms))
    return Jobs.current?.settings.name ?? "?"
}

/// A job that returns nothing.
@Job public func touch(_ key: String) async throws {
    JobProbe.count(on: key)
}

/// Whether the job ran on the node's network thread (it should not).
@Job public func onNetworkThread() -> Bool {
    Jobs.current?.executor.eventLoop.inEventLoop ?? true
}

/// Counts primes below `below`: a computation that estimates its own cost.
public struct PrimeCount: DistributedComputation {
    public var below: Int
    public init(below: Int) { self.below = below }
    public func execute() async throws -> Int {
        guard below > 2 else { return 0 }
        var sieve = [Bool](repeating: true, count: below)
        sieve[0] = false
        sieve[1] = false
        var i = 2
        while i * i < below {
            if sieve[i] { for j in stride(from: i * i, to: below, by: i) { sieve[j] = false } }
            i += 1
        }
        return sieve.lazy.filter { $0 }.count
    }
    public func estimateCost() -> ComputationCost { ComputationCost(units: Double(below) / 1_000_000) }
}

/// Every test job, for `Jobs(…)`.
public func allTestJobs(
    capacity: ComputationCost? = nil, runsJobs: Bool = true, placement: PlacementStrategy = .leastLoaded
) -> Jobs {
    Jobs(
        squareJob, pythagoreanJob, whereAmIJob, Geometry.cubeJob, withdrawJob, misbehaveJob, sleeperJob, cappedJob,
        slowIdempotentJob, slowOnceJob, solitaryJob, impatientJob, heavyJob, touchJob, onNetworkThreadJob, PrimeCount.job,
        capacity: capacity, runsJobs: runsJobs, placement: placement, loadReportInterval: .milliseconds(200))
}
