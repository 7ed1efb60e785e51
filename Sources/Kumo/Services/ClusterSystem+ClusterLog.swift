import KumoCore

extension ClusterSystem {
    /// Sends a line to the cluster log collector, tagged with this node and, if given, the actor
    /// that says it. The collector writes it through its logger. Lines from one sender arrive in order.
    public func say(_ text: String, from actor: ActorID? = nil) async throws {
        let preferred = settings.logCollector
        guard let port = try await clusterLog?.whenLocal({ try await $0.collectorPort(preferred: preferred) }) else {
            throw notRunning()
        }
        try await port.send(LogLine(
            text: text, node: node, nodeName: settings.name, actor: actor, timestamp: Self.wallClockMillis()))
    }

    static func wallClockMillis() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(0, now.tv_sec)) * 1000 + UInt64(max(0, now.tv_nsec)) / 1_000_000
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
