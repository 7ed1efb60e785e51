import Foundation
import Kumo
import KumoNode
import KumoTestKit
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import KumoDeploy

@Suite("DNS discovery as Kubernetes does it, and the node's health endpoint", .serialized, .timeLimit(.minutes(2)))
struct DiscoveryAndHealthTests {
    func settings(_ name: String, host: String, port: Int, resolver: DNSResolver) -> ClusterSettings {
        var settings = ClusterSettings(name: name, secret: "dns-test")
        settings.host = host
        settings.port = port
        settings.membership = TestCluster.testMembership()
        settings.membership.joinAttemptsBeforeAlone = 3
        settings.logger.logLevel = .critical
        settings.discovery = .dns("kumo-peers", port: port, resolver: resolver)
        return settings
    }

    @Test("three pods on one port, behind one name a stub resolver answers, form one cluster")
    func stubResolver() async throws {
        let port = try await freePort()
        let pods = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        let asked = Counter()
        let resolver = DNSResolver { name in
            asked.increment()
            return name == "kumo-peers" ? pods : []
        }
        var systems: [ClusterSystem] = []
        for (index, pod) in pods.enumerated() {
            systems.append(try await ClusterSystem(settings: settings("pod\(index)", host: pod, port: port, resolver: resolver)))
        }
        for system in systems { try await system.waitForMembers(3, timeout: .seconds(20)) }
        #expect(Set(systems.map(\.node.address.host)) == Set(pods))
        #expect(asked.value >= 2)
        for system in systems { await system.shutdown() }
    }

    @Test("a hosts file is read again on every lookup: a pod added to it later is found")
    func hostsFile() async throws {
        let directory = try TemporaryDirectory("hosts")
        defer { directory.cleanUp() }
        let path = directory.file("hosts")
        try "# pods\n127.0.0.1 kumo-peers kumo-peers.default.svc\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await DNSResolver.hostsFile(path).resolve("KUMO-PEERS") == ["127.0.0.1"])
        #expect(await DNSResolver.hostsFile(path).resolve("other") == [])
        #expect(await DNSResolver.hostsFile(directory.file("missing")).resolve("kumo-peers") == [])
        let port = try await freePort()
        let first = try await ClusterSystem(settings: settings("first", host: "127.0.0.1", port: port, resolver: .hostsFile(path)))
        try await first.waitForMembers(1)
        try "127.0.0.1 kumo-peers\n127.0.0.2 kumo-peers # the new pod\n".write(toFile: path, atomically: true, encoding: .utf8)
        let second = try await ClusterSystem(settings: settings("second", host: "127.0.0.2", port: port, resolver: .hostsFile(path)))
        try await second.waitForMembers(2, timeout: .seconds(20))
        try await first.waitForMembers(2)
        await second.shutdown()
        await first.shutdown()
    }

    @Test("a node listening on every address advertises the host it is given")
    func advertisedHost() async throws {
        var settings = ClusterSettings(name: "pod", secret: "dns-test")
        settings.host = "0.0.0.0"
        settings.advertisedHost = "127.0.0.1"
        settings.logger.logLevel = .critical
        let pod = try await ClusterSystem(settings: settings)
        #expect(pod.node.address.host == "127.0.0.1")
        var joiner = ClusterSettings(name: "joiner", secret: "dns-test")
        joiner.seeds = [pod.node.address]
        joiner.logger.logLevel = .critical
        let other = try await ClusterSystem(settings: joiner)
        try await other.waitForMembers(2)
        await other.shutdown()
        await pod.shutdown()
    }

    func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let connection = try await HTTPConnection.connect(host: "127.0.0.1", port: port)
        defer { connection.close() }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "host", value: "127.0.0.1")
        var response = try await connection.send(HTTPMessage(head: head, body: ByteBuffer())).get()
        return (Int(response.head.status.code), response.body.readString(length: response.body.readableBytes) ?? "")
    }

    @Test("/readyz is 200 once the node is up, /healthz while it runs; /leave leaves the cluster, after which /readyz is 503")
    func health() async throws {
        let cluster = try await TestCluster.start(nodes: 2)
        try await cluster.waitForConvergence()
        let node = cluster.nodes[1]
        let health = try await HealthEndpoint(system: node, host: "127.0.0.1", port: 0)
        #expect(try await get(health.port, "/readyz") == (200, "up\n"))
        #expect(try await get(health.port, "/healthz") == (200, "ok\n"))
        #expect(try await get(health.port, "/nothing").0 == 404)
        #expect(try await get(health.port, "/leave") == (200, "left\n"))
        #expect(try await get(health.port, "/readyz").0 == 503)
        #expect(await eventually { await cluster.nodes[0].members().allSatisfy { $0.node != node.node || $0.status >= .leaving } })
        await health.close()
        await cluster.shutdown()
    }
}

/// A count several tasks add to.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
