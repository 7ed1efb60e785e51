import Distributed
import Foundation
@testable import Kumo
import KumoCore
import KumoExamples
import KumoTestKit
import Metrics
import MetricsTestKit
import Synchronization
import Testing
import VictimKit

/// The test process's one metrics backend.
///
/// `MetricsSystem.bootstrap` may run once per process, and every suite shares the process, so
/// the tests bootstrap once, here, on first use. The factory hands the metrics of nodes whose
/// name starts with ``prefix`` (this file's nodes, each test with names of its own) to one
/// `TestMetrics`, and gives every other node — the other suites', started before or after —
/// no-op handles, so they neither pay for recording nor see this file's numbers. Tests find
/// their own metrics by their nodes' `kumo.node` (and `kumo.peer`) values.
enum SharedMetrics {
    static let prefix = "metrics-"

    private static let backend = TestMetrics()
    private static let bootstrapped: Bool = {
        MetricsSystem.bootstrap(PrefixFactory(prefix: prefix, upstream: backend))
        return true
    }()

    /// The backend, bootstrapped.
    static var metrics: TestMetrics {
        _ = bootstrapped
        return backend
    }
}

/// Forwards the metrics of nodes whose `kumo.node` starts with `prefix` to `upstream`; makes
/// no-op handles for every other metric.
private struct PrefixFactory: MetricsFactory {
    let prefix: String
    let upstream: TestMetrics

    private func chosen(_ dimensions: [(String, String)]) -> Bool {
        dimensions.contains { $0.0 == "kumo.node" && $0.1.hasPrefix(prefix) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        chosen(dimensions) ? upstream.makeCounter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        chosen(dimensions) ? upstream.makeMeter(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        chosen(dimensions)
            ? upstream.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate) : NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        chosen(dimensions) ? upstream.makeTimer(label: label, dimensions: dimensions) : NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) { upstream.destroyCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { upstream.destroyMeter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { upstream.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { upstream.destroyTimer(handler) }
}

/// A call that hits a distributed func the actor does not have, made the way a peer may.
func rawCall<Act: DistributedActor>(_ identifier: String, on actor: Act, using system: ClusterSystem) async throws -> Int
where Act.ActorSystem == ClusterSystem {
    var invocation = system.makeInvocationEncoder()
    try invocation.recordReturnType(Int.self)
    try invocation.doneRecording()
    return try await system.remoteCall(
        on: actor, target: RemoteCallTarget(identifier), invocation: &invocation, throwing: Never.self, returning: Int.self)
}

@Suite("Metrics through swift-metrics", .timeLimit(.minutes(2)))
struct MetricsTests {
    let metrics = SharedMetrics.metrics

    /// Settings for this file's nodes: each test passes names of its own.
    static func named(_ names: [String]) -> @Sendable (Int, inout ClusterSettings) -> Void {
        { index, settings in settings.name = SharedMetrics.prefix + names[index] }
    }

    static func node(_ name: String) -> (String, String) { ("kumo.node", SharedMetrics.prefix + name) }
    static func peer(_ name: String) -> (String, String) { ("kumo.peer", SharedMetrics.prefix + name) }

    /// The dimensions of a call metric.
    static func call(_ method: String, _ status: String, on node: String) -> [(String, String)] {
        [("rpc.system", "kumo"), ("rpc.method", method), ("rpc.response.status_code", status), Self.node(node)]
    }

    /// The `rpc.method` values `node` recorded for `label`.
    func methods(_ label: String, on node: String) -> Set<String> {
        let name = SharedMetrics.prefix + node
        return Set(metrics.timers(label: label).filter { $0.has("kumo.node", name) }.compactMap { $0.value(of: "rpc.method") })
    }

    func total(_ label: String, _ dimensions: [(String, String)]) -> Int64 {
        (try? metrics.expectCounter(label, dimensions))?.totalValue ?? 0
    }

    func timings(_ label: String, _ dimensions: [(String, String)]) -> [Int64] {
        (try? metrics.expectTimer(label, dimensions))?.values ?? []
    }

    /// Waits until `condition` holds, polling; false after `timeout`.
    func eventually(_ timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test("a call records rpc.client.duration on the caller and rpc.server.duration on the callee, with its counts")
    func callDurations() async throws {
        try await withLocalCluster(nodes: 2, configure: Self.named(["call-a", "call-b"])) { nodes in
            let greeter = Greeter(actorSystem: nodes[0])
            let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
            for index in 0..<3 { _ = try await remote.greet("call \(index)") }

            let client = methods("rpc.client.duration", on: "call-b")
            #expect(client.count == 1, "\(client)")
            let method = try #require(client.first)
            #expect(method.contains("Greeter.greet("), "\(method)")
            #expect(!method.contains("$s"), "a readable name, not the mangled one: \(method)")
            // Both sides name the target alike.
            #expect(methods("rpc.server.duration", on: "call-a") == [method])

            let onClient = Self.call(method, "ok", on: "call-b")
            let onServer = Self.call(method, "ok", on: "call-a")
            #expect(timings("rpc.client.duration", onClient).count == 3)
            #expect(timings("rpc.server.duration", onServer).count == 3)
            #expect(timings("rpc.client.duration", onClient).allSatisfy { $0 > 0 })
            #expect(total("kumo.rpc.client.calls", onClient) == 3)
            #expect(total("kumo.rpc.server.calls", onServer) == 3)
            // The callee's time is part of the caller's.
            let clientTotal = timings("rpc.client.duration", onClient).reduce(0, +)
            let serverTotal = timings("rpc.server.duration", onServer).reduce(0, +)
            #expect(serverTotal <= clientTotal)
        }
    }

    @Test("failing calls are counted by error code on both sides")
    func failures() async throws {
        try await withLocalCluster(nodes: 2, configure: Self.named(["fail-a", "fail-b"])) { nodes in
            let greeter = Greeter(actorSystem: nodes[0])
            let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
            // The remote actor throws: a Codable error, re-thrown as itself.
            await #expect(throws: GreeterError.self) { _ = try await remote.fail("no") }
            await #expect(throws: GreeterError.self) { _ = try await remote.fail("no again") }
            // The caller gives up first.
            await #expect(throws: ClusterError(.timeout, "")) {
                // The callee sleeps long enough that the cancellation reaches it first, even on a loaded machine.
                try await nodes[1].withCallTimeout(.milliseconds(50)) { _ = try await remote.sleep(milliseconds: 5000) }
            }
            // A call to an actor that is not there.
            let ghost = try Greeter.resolve(id: .named("ghost", on: nodes[0].node), using: nodes[1])
            await #expect(throws: ClusterError(.unknownActor, "")) { _ = try await ghost.greet("anyone?") }

            let fail = try #require(methods("rpc.client.duration", on: "fail-b").first { $0.contains("Greeter.fail(") })
            let sleep = try #require(methods("rpc.client.duration", on: "fail-b").first { $0.contains("Greeter.sleep(") })
            let greet = try #require(methods("rpc.client.duration", on: "fail-b").first { $0.contains("Greeter.greet(") })
            #expect(total("kumo.rpc.client.calls", Self.call(fail, "remoteError", on: "fail-b")) == 2)
            #expect(timings("rpc.client.duration", Self.call(fail, "remoteError", on: "fail-b")).count == 2)
            #expect(total("kumo.rpc.server.calls", Self.call(fail, "remoteError", on: "fail-a")) == 2)
            #expect(timings("rpc.server.duration", Self.call(fail, "remoteError", on: "fail-a")).count == 2)
            #expect(total("kumo.rpc.client.calls", Self.call(fail, "ok", on: "fail-b")) == 0)
            #expect(total("kumo.rpc.client.calls", Self.call(sleep, "timeout", on: "fail-b")) == 1)
            #expect(total("kumo.rpc.client.calls", Self.call(greet, "unknownActor", on: "fail-b")) == 1)
            // The callee refused the call before it ran, for a target that never ran there.
            #expect(total("kumo.rpc.server.calls", Self.call("unknown", "unknownActor", on: "fail-a")) == 1)
            // The callee's sleep was cancelled when the caller gave up at its deadline.
            #expect(await eventually { total("kumo.rpc.server.calls", Self.call(sleep, "cancelled", on: "fail-a")) == 1 })
            #expect(total("kumo.rpc.server.calls", Self.call(sleep, "ok", on: "fail-a")) == 0)

            // Once a target has run, a refused call to it is counted under its name.
            _ = try await remote.greet("real")
            await #expect(throws: ClusterError(.unknownActor, "")) { _ = try await ghost.greet("anyone?") }
            #expect(total("kumo.rpc.server.calls", Self.call(greet, "unknownActor", on: "fail-a")) == 1)
        }
    }

    @Test("targets a peer made up never become label values: they are counted as rpc.method=unknown")
    func madeUpTargets() async throws {
        try await withLocalCluster(nodes: 2, configure: Self.named(["garbage-a", "garbage-b"])) { nodes in
            let auditor = Auditor(actorSystem: nodes[0])
            let vault = Vault(actorSystem: nodes[0])
            let remoteAuditor = try Auditor.resolve(id: auditor.id, using: nodes[1])
            let remoteVault = try Vault.resolve(id: vault.id, using: nodes[1])
            var refused = 0
            // Names of funcs Auditor does not have (they pass the declaring-type check and reach
            // the runtime, which finds no such func), names of nothing at all, and a real thunk
            // aimed at the wrong type.
            var names = (0..<5).map { "$s9KumoTests7AuditorC7nosuch\($0)SiyYaKFTE" }
            names += (0..<5).map { "garbage-\($0)" }
            for name in names {
                do {
                    _ = try await rawCall(name, on: remoteAuditor, using: nodes[1])
                    Issue.record("\(name) ran")
                } catch {
                    refused += 1
                }
            }
            do {
                _ = try await TargetCheckTests.rawAudit(on: remoteVault, passing: remoteVault, using: nodes[1])
                Issue.record("a Vault ran Auditor.audit")
            } catch {
                refused += 1
            }
            #expect(refused == 11)
            #expect(methods("rpc.server.duration", on: "garbage-a") == ["unknown"])
            let unknown = metrics.counters(label: "kumo.rpc.server.calls").filter {
                $0.has("kumo.node", SharedMetrics.prefix + "garbage-a")
            }
            #expect(unknown.allSatisfy { $0.value(of: "rpc.method") == "unknown" })
            #expect(unknown.reduce(0) { $0 + $1.totalValue } == 11)

            // A real call to the real target gets its name.
            #expect(try await remoteAuditor.audit(remoteVault) == 4)
            let real = methods("rpc.server.duration", on: "garbage-a").subtracting(["unknown"])
            #expect(real.count == 1 && real.first?.contains("Auditor.audit(") == true, "\(real)")
        }
    }

    @Test("bytes in and out are counted per peer, and both ends agree on them")
    func bytesPerPeer() async throws {
        try await withLocalCluster(nodes: 2, configure: Self.named(["bytes-a", "bytes-b"])) { nodes in
            let recorder = KumoExamples.Recorder(actorSystem: nodes[0])
            let remote = try KumoExamples.Recorder.resolve(id: recorder.id, using: nodes[1])
            let aFromB = [Self.node("bytes-a"), Self.peer("bytes-b")]
            let bFromA = [Self.node("bytes-b"), Self.peer("bytes-a")]
            func counts() -> (aIn: Int64, aOut: Int64, bIn: Int64, bOut: Int64) {
                (
                    total("kumo.transport.bytes_in", aFromB), total("kumo.transport.bytes_out", aFromB),
                    total("kumo.transport.bytes_in", bFromA), total("kumo.transport.bytes_out", bFromA)
                )
            }
            _ = try await remote.count([1, 2, 3])
            #expect(await eventually { let c = counts(); return c.aIn == c.bOut && c.bIn == c.aOut })
            let before = counts()
            #expect(before.aIn > 0 && before.aOut > 0)

            // A large argument (sent in chunks) and its small reply.
            #expect(try await remote.count([UInt8](repeating: 7, count: 1 << 20)) == 1 << 20)
            #expect(await eventually { let c = counts(); return c.aIn == c.bOut && c.bIn == c.aOut })
            let after = counts()
            #expect(after.aIn - before.aIn > 1 << 20)
            #expect(after.aOut > before.aOut)
            // While the chunks streamed, bytes waited in the caller's outbox; none wait now.
            let outbox = try metrics.expectGauge("kumo.transport.outbox_bytes", bFromA)
            #expect(outbox.values.contains { $0 > 0 })
            #expect(await eventually { outbox.lastValue == 0 })
        }
    }

    @Test("open connections are a meter per node; a connection opened again counts as a reconnect")
    func connections() async throws {
        try await withLocalCluster(nodes: 3, configure: Self.named(["conn-a", "conn-b", "conn-c"])) { nodes in
            let meter = { (name: String) in (try? self.metrics.expectMeter("kumo.transport.connections", [Self.node(name)]))?.lastValue ?? 0 }
            _ = try await nodes[1].connect(to: nodes[0].node.address)
            _ = try await nodes[2].connect(to: nodes[0].node.address)
            #expect(await eventually { meter("conn-a") == 2 && meter("conn-b") == 1 && meter("conn-c") == 1 })
            #expect(total("kumo.transport.reconnects", [Self.node("conn-b"), Self.peer("conn-a")]) == 0)

            // The connection drops, and the next call opens another.
            let connection = try await nodes[1].connection(to: nodes[0].node)
            try await connection.channel.close()
            #expect(await eventually { meter("conn-a") == 1 && meter("conn-b") == 0 })
            // The closed connection leaves the peer table just after the meter counts it out.
            for _ in 0..<100 where meter("conn-b") == 0 {
                _ = try? await nodes[1].connect(to: nodes[0].node.address)
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(await eventually { meter("conn-a") == 2 && meter("conn-b") == 1 })
            #expect(total("kumo.transport.reconnects", [Self.node("conn-b"), Self.peer("conn-a")]) == 1)
            #expect(total("kumo.transport.reconnects", [Self.node("conn-a"), Self.peer("conn-b")]) == 1)
            #expect(total("kumo.transport.reconnects", [Self.node("conn-a"), Self.peer("conn-c")]) == 0)

            await nodes[2].shutdown()
            #expect(await eventually { meter("conn-a") == 1 && meter("conn-c") == 0 })
        }
    }

    @Test("members are a gauge per status: after a join, every node counts all of them up")
    func membersByStatus() async throws {
        let cluster = try await TestCluster.start(nodes: 3, configure: Self.named(["members-0", "members-1", "members-2"]))
        do {
            try await cluster.waitForConvergence()
            func members(_ node: String, _ status: String) -> Double? {
                (try? metrics.expectGauge("kumo.membership.members", [Self.node(node), ("kumo.member.status", status)]))?
                    .lastValue
            }
            for node in ["members-0", "members-1", "members-2"] {
                #expect(await eventually { members(node, "up") == 3 && members(node, "joining") == 0 }, "\(node)")
                for status in ["leaving", "down", "removed"] { #expect(members(node, status) == 0, "\(node) \(status)") }
            }
            // A graceful leave: the others count it leaving, then removed.
            await cluster.nodes[2].shutdown()
            for node in ["members-0", "members-1"] {
                #expect(
                    await eventually(.seconds(10)) { members(node, "up") == 2 && members(node, "removed") == 1 }, "\(node)")
            }
        }
        await cluster.shutdown()
    }

    @Test("one-way messages are counted per peer on both ends")
    func oneWayMessages() async throws {
        try await withLocalCluster(nodes: 2, configure: Self.named(["ports-a", "ports-b"])) { nodes in
            let recorder = KumoExamples.Recorder(actorSystem: nodes[0])
            let remote = try KumoExamples.Recorder.resolve(id: recorder.id, using: nodes[1])
            let (send, receive) = try nodes[1].makeChannel(of: Int.self)
            try await remote.stream(count: 25, to: send)
            var received = 0
            for await _ in receive {
                received += 1
                if received == 25 { break }
            }
            #expect(total("kumo.ports.messages_sent", [Self.node("ports-a"), Self.peer("ports-b")]) == 25)
            #expect(total("kumo.ports.messages_received", [Self.node("ports-b"), Self.peer("ports-a")]) == 25)
            #expect(total("kumo.ports.messages_sent", [Self.node("ports-b"), Self.peer("ports-a")]) == 0)
        }
    }

    @Test("a node with metrics disabled records nothing; a node records into a factory bound to the task that starts it")
    func switches() async throws {
        try await withLocalCluster(nodes: 2, configure: { index, settings in
            settings.name = SharedMetrics.prefix + ["off-a", "off-b"][index]
            settings.metrics.enabled = false
        }) { nodes in
            #expect(!nodes[0].metrics.active)
            let greeter = Greeter(actorSystem: nodes[0])
            _ = try await Greeter.resolve(id: greeter.id, using: nodes[1]).greet("quiet")
            let recorded = metrics.counters.filter { $0.value(of: "kumo.node")?.hasPrefix(SharedMetrics.prefix + "off-") == true }
            #expect(recorded.isEmpty)
        }

        let local = TestMetrics()
        try await withMetricsFactory(local) {
            try await withLocalCluster(nodes: 2, configure: Self.named(["local-a", "local-b"])) { nodes in
                let greeter = Greeter(actorSystem: nodes[0])
                _ = try await Greeter.resolve(id: greeter.id, using: nodes[1]).greet("local")
            }
        }
        #expect(local.counterTotal(label: "kumo.rpc.client.calls") == 1)
        #expect(local.counterTotal(label: "kumo.rpc.server.calls") == 1)
        #expect(metrics.counters.allSatisfy { $0.value(of: "kumo.node")?.hasPrefix(SharedMetrics.prefix + "local-") != true })
    }

    // MARK: - The label tables of docs/metrics.md

    /// The rows of the table under `heading` in docs/metrics.md: its cells, backquotes removed.
    static func table(under heading: String) throws -> [[String]] {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/metrics.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: heading), "docs/metrics.md has no heading \(heading)")
        let rows = lines[(start + 1)...].drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
        return rows.dropFirst(2).map { row in
            row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "") }
        }
    }

    @Test("every metric a node records is in docs/metrics.md's table, with its type and dimensions, and every one there is recorded")
    func metricTable() async throws {
        let documented = try Self.table(under: "## Metrics").map { row in
            (name: row[0], type: row[1], dimensions: Set(row[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }))
        }
        #expect(documented.count == 12)

        // A workload that makes every metric: calls that return and fail, messages, a membership,
        // a reconnect.
        let cluster = try await TestCluster.start(nodes: 2, configure: Self.named(["table-0", "table-1"]))
        do {
            try await cluster.waitForConvergence()
            let nodes = cluster.nodes
            let recorder = KumoExamples.Recorder(actorSystem: nodes[0])
            let remote = try KumoExamples.Recorder.resolve(id: recorder.id, using: nodes[1])
            let (send, receive) = try nodes[1].makeChannel(of: Int.self)
            try await remote.stream(count: 1, to: send)
            for await _ in receive { break }
            let greeter = Greeter(actorSystem: nodes[0])
            await #expect(throws: GreeterError.self) { _ = try await Greeter.resolve(id: greeter.id, using: nodes[1]).fail("x") }
        }
        await cluster.shutdown()

        var recorded: [(name: String, type: String, dimensions: [(String, String)])] = []
        recorded += metrics.counters.map { ($0.label, "Counter", $0.dimensions) }
        recorded += metrics.timers.map { ($0.label, "Timer", $0.dimensions) }
        recorded += metrics.recorders.map { ($0.label, $0.aggregate ? "Recorder" : "Gauge", $0.dimensions) }
        recorded += metrics.meters.map { ($0.label, "Meter", $0.dimensions) }
        let mine = recorded.filter { metric in
            metric.dimensions.contains { $0.0 == "kumo.node" && $0.1.hasPrefix(SharedMetrics.prefix + "table-") }
        }
        for metric in mine {
            let row = documented.first { $0.name == metric.name }
            #expect(row != nil, "\(metric.name) is not documented")
            #expect(row?.type == metric.type, "\(metric.name) is a \(metric.type)")
            #expect(row?.dimensions == Set(metric.dimensions.map(\.0)), "\(metric.name): \(metric.dimensions)")
        }
        for row in documented {
            #expect(mine.contains { $0.name == row.name }, "\(row.name) was documented but not recorded")
        }
    }

    @Test("the documented values of rpc.response.status_code and kumo.member.status are every value there is")
    func valueTables() throws {
        let codes = try Self.table(under: "### `rpc.response.status_code`").map { $0[0] }
        let expected = ["ok"] + ClusterError.Code.Value.allCases.map { ClusterError.Code(value: $0).description }
        #expect(codes == expected)
        let statuses = try Self.table(under: "### `kumo.member.status`").map { $0[0] }
        #expect(statuses == MemberStatus.allCases.map(\.description))
        #expect(ClusterMetrics.unknownMethod == "unknown")
    }
}

/// A test metric's dimensions, whatever its kind.
protocol Dimensioned {
    var dimensions: [(String, String)] { get }
}

extension TestCounter: Dimensioned {}
extension TestTimer: Dimensioned {}
extension TestRecorder: Dimensioned {}
extension TestMeter: Dimensioned {}

extension Dimensioned {
    /// The value of the dimension `name`, if the metric has it.
    func value(of name: String) -> String? {
        dimensions.first { $0.0 == name }?.1
    }

    /// Whether the dimension `name` has the value `value`.
    func has(_ name: String, _ value: String) -> Bool {
        self.value(of: name) == value
    }
}
