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
            BaselineScenario.self, MembershipScenario.self, JobRTTScenario.self, FanoutScenario.self,
            FanoutSleepScenario.self, CRDTScenario.self, CRDTKeysScenario.self, GearsLocalScenario.self,
            GearsRingScenario.self, PeerCommand.self,
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

    @OptionGroup var transport: TransportOptions

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }
}
