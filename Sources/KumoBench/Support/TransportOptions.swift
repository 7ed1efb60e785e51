import ArgumentParser
import Kumo

/// The transport settings a scenario sets on both of its nodes: parsed by the scenario, handed on
/// to the peer process as the same flags, and applied to each node's settings.
struct TransportOptions: ParsableArguments {
    private static let defaults = ClusterSettings(secret: "-")

    @Option(help: "ClusterSettings.busyPollWindow of both nodes, in microseconds (0: off; default as ClusterSettings).")
    var busyPollMicroseconds = Int(defaults.busyPollWindow / .microseconds(1))

    @Option(help: "ClusterSettings.callFlushThreshold of both nodes (calls and replies written at once).")
    var callFlushThreshold = defaults.callFlushThreshold

    @Option(help: "ClusterSettings.socketBufferSize of both nodes, in KiB (0: the kernel's autotuning).")
    var socketBufferKib = (defaults.socketBufferSize ?? 0) >> 10

    @Option(help: "ClusterSettings.chunkSize of both nodes, in KiB.")
    var chunkKib = defaults.chunkSize >> 10

    @Option(help: "ClusterSettings.messageBatchingDelay of both nodes, in microseconds.")
    var messageBatchingMicroseconds = Int(defaults.messageBatchingDelay / .microseconds(1))

    @Flag(inversion: .prefixedNo, help: "ClusterSettings.reuseReceivedArrays of both nodes.")
    var reuseReceivedArrays = defaults.reuseReceivedArrays

    @Flag(help: "Record both nodes' metrics into a minimal in-process backend (relaxed atomics), to measure what recording costs; without it the metrics system is swift-metrics' no-op default.")
    var metrics = false

    func validate() throws {
        guard chunkKib >= 1 else { throw ValidationError("--chunk-kib must be at least 1") }
        guard socketBufferKib >= 0, busyPollMicroseconds >= 0, messageBatchingMicroseconds >= 0 else {
            throw ValidationError("--socket-buffer-kib, --busy-poll-microseconds and --message-batching-microseconds must not be negative")
        }
        guard callFlushThreshold >= 1 else { throw ValidationError("--call-flush-threshold must be at least 1") }
    }

    /// The same options as flags, for the peer process.
    var arguments: [String] {
        [
            "--busy-poll-microseconds", "\(busyPollMicroseconds)", "--call-flush-threshold", "\(callFlushThreshold)",
            "--socket-buffer-kib", "\(socketBufferKib)", "--chunk-kib", "\(chunkKib)",
            "--message-batching-microseconds", "\(messageBatchingMicroseconds)",
            reuseReceivedArrays ? "--reuse-received-arrays" : "--no-reuse-received-arrays",
        ] + (metrics ? ["--metrics"] : [])
    }

    /// Sets these options on `settings` (and, for `--metrics`, bootstraps the metrics backend, so
    /// call it before starting the node).
    func apply(to settings: inout ClusterSettings) {
        if metrics { BenchMetricsFactory.bootstrapOnce() }
        settings.busyPollWindow = .microseconds(busyPollMicroseconds)
        settings.callFlushThreshold = callFlushThreshold
        settings.socketBufferSize = socketBufferKib == 0 ? nil : socketBufferKib << 10
        settings.chunkSize = chunkKib << 10
        settings.messageBatchingDelay = .microseconds(messageBatchingMicroseconds)
        settings.reuseReceivedArrays = reuseReceivedArrays
    }
}
