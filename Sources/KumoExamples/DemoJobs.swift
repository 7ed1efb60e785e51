import KumoJobs

/// Renders one tile of a picture (here: a checksum of its pixels after a short wait, as if
/// waiting on a disk): the job `kumo demo` fans out over its cluster. At most 8 run at once on
/// a node.
@Job(options: JobOptions(idempotent: true, maxConcurrentPerNode: 8))
public func renderTile(_ tile: Int) async throws -> Int {
    try await Task.sleep(for: .milliseconds(20))
    var checksum = tile
    for pixel in 0..<4096 { checksum = (checksum &* 31 &+ pixel) & 0xFFFF }
    return checksum
}

/// The jobs plugin of `kumo node` and `kumo demo`.
public func exampleJobs(runsJobs: Bool = true) -> Jobs {
    Jobs(renderTileJob, runsJobs: runsJobs)
}
