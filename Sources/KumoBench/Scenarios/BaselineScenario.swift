import ArgumentParser
import KumoTestKit

#if canImport(Glibc)
import Glibc
#endif

/// `kumo-bench baseline`: the 64-byte ping-pong over plain TCP sockets, no Kumo layer: the floor
/// the other figures are quoted against.
struct BaselineScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline", abstract: "Raw TCP 64-byte ping-pong between two pinned processes (the floor).")

    @OptionGroup var options: CommonOptions

    @Option(help: "Measured round trips per run.")
    var samples = 50_000

    @Option(help: "Round trips before measuring.")
    var warmup = 5_000

    func run() async throws {
        if options.pin { pinProcess(toCPU: 0) }
        for _ in 0..<options.runs {
            let peer = try await ChildProcess.launch(
                executable: siblingExecutable(named: "kumo-bench"),
                arguments: ["peer", "--mode", "tcp", "--cpu=\(options.pin ? 1 : -1)"],
                readyPrefix: "kumo-bench peer ready: ")
            guard let port = peer.readyLine.split(separator: " ").first.flatMap({ Int($0) }) else {
                throw BenchError("unexpected peer ready line '\(peer.readyLine)'")
            }
            let fd = try RawTCPEcho.connect(port: port)
            var message = [UInt8](repeating: 0x42, count: RawTCPEcho.messageSize)
            for _ in 0..<warmup {
                guard RawTCPEcho.writeAll(fd, message), RawTCPEcho.readExactly(fd, &message) else {
                    throw BenchError("raw TCP peer closed the connection")
                }
            }
            var times = [UInt64](repeating: 0, count: samples)
            for index in 0..<samples {
                let start = nowNanoseconds()
                guard RawTCPEcho.writeAll(fd, message), RawTCPEcho.readExactly(fd, &message) else {
                    throw BenchError("raw TCP peer closed the connection")
                }
                times[index] = nowNanoseconds() - start
            }
            close(fd)
            _ = await peer.waitForExit(timeout: .seconds(5))
            let summary = LatencySummary(nanoseconds: times)
            report(options, [
                ("scenario", "baseline"), ("p50_us", summary.p50), ("p99_us", summary.p99), ("samples", summary.count),
            ])
        }
    }
}
