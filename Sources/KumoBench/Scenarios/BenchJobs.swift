import KumoJobs

// The jobs of the job scenarios, which the driver and its worker peers share.

/// A trivial job: returns its argument.
@Job func benchEcho(_ value: Int) -> Int { value }

/// Sleeps `ms` milliseconds; returns the port of the node it ran on.
@Job func benchSleep(_ ms: Int) async throws -> Int {
    try await Task.sleep(for: .milliseconds(ms))
    return Jobs.current?.node.address.port ?? 0
}

/// The jobs plugin of a worker peer: both jobs, `benchSleep` capped at `perNode` when given.
func benchJobs(perNode: Int?, runsJobs: Bool) -> Jobs {
    let sleep = benchSleepJob.withOptions { $0.maxConcurrentPerNode = perNode }
    return Jobs(benchEchoJob, sleep, runsJobs: runsJobs)
}
