import ArgumentParser
import Kumo

@main
struct KumoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kumo-bench",
        abstract: "Measure Kumo between two OS processes on 127.0.0.1 (build with -c release).",
        discussion: """
            Each scenario starts its peer process itself (this binary, `kumo-bench peer`) and prints \
            one JSON object per run on its own line with --json. The two processes are pinned to \
            different CPUs unless --no-pin is given.
            """,
        subcommands: [
            RTTScenario.self, ThroughputScenario.self, ConcurrentScenario.self, BulkScenario.self,
            BaselineScenario.self, MembershipScenario.self, PeerCommand.self,
        ]
    )
}

/// Options every scenario takes.
struct CommonOptions: ParsableArguments {
    @Flag(help: "Print one JSON object per result line.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Pin this process to CPU 0 and the peer to CPU 1.")
    var pin = true

    @Option(help: "How many times to run the scenario (each run prints its own line).")
    var runs = 1

    @Option(help: "ClusterSettings.busyPollWindow of both nodes, in microseconds (0: off).")
    var busyPollMicroseconds = 0

    @Option(help: "ClusterSettings.callFlushThreshold of both nodes (calls and replies written at once).")
    var callFlushThreshold = ClusterSettings(secret: "-").callFlushThreshold

    @Option(help: "ClusterSettings.socketBufferSize of both nodes, in KiB (0: the kernel's autotuning).")
    var socketBufferKib = (ClusterSettings(secret: "-").socketBufferSize ?? 0) >> 10

    @Option(help: "ClusterSettings.chunkSize of both nodes, in KiB.")
    var chunkKib = ClusterSettings(secret: "-").chunkSize >> 10

    @Option(help: "ClusterSettings.messageBatchingDelay of both nodes, in microseconds.")
    var messageBatchingMicroseconds = Int(ClusterSettings(secret: "-").messageBatchingDelay / .microseconds(1))

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard chunkKib >= 1 else { throw ValidationError("--chunk-kib must be at least 1") }
        guard socketBufferKib >= 0, busyPollMicroseconds >= 0, messageBatchingMicroseconds >= 0 else {
            throw ValidationError("--socket-buffer-kib, --busy-poll-microseconds and --message-batching-microseconds must not be negative")
        }
        guard callFlushThreshold >= 1 else { throw ValidationError("--call-flush-threshold must be at least 1") }
    }
}
