import Testing

/// The suites whose checks depend on timing — failure detection, downing timeouts, processes
/// that crash, cancellation latency — run one test at a time, in this parent suite.
///
/// Swift Testing otherwise runs every suite at once: on a two-core machine the multi-process
/// tests (thousands of calls between processes) starve the event loops of the in-process
/// clusters, whose probes then time out and down healthy nodes. Serialized, each timing test has
/// the machine to itself, and the unit suites still run beside them.
@Suite("Cluster timing", .serialized)
enum ClusterTimingTests {}
