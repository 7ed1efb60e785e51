import Kumo
import KumoCore
import KumoTestKit
import Synchronization
import Testing

/// What the plugins of a test saw, in order.
final class PluginLog: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

/// A plugin's per-node part: a system actor other nodes call by its well-known name.
distributed actor PluginAgent {
    typealias ActorSystem = ClusterSystem
    distributed func hello() -> String { "hello from \(actorSystem.settings.name)" }
}

struct PluginStartFailure: Error, CustomStringConvertible {
    var description: String { "the disk is full" }
}

/// Records every lifecycle call, with what the node looked like at the time.
struct RecordingPlugin: ClusterPlugin {
    let name: String
    let log: PluginLog
    var agentName: String?
    var failing = false

    func start(_ system: ClusterSystem) async throws {
        if failing { throw PluginStartFailure() }
        log.add("\(name).start")
        try system.hostSystemActor(named: agentName ?? "kumo.test.\(name)") { PluginAgent(actorSystem: system) }
    }

    func willLeave(_ system: ClusterSystem) async {
        let me = await system.members().first { $0.node == system.node }
        log.add("\(name).willLeave(\(me.map { "\($0.status)" } ?? "?"))")
    }

    func stop(_ system: ClusterSystem) async {
        log.add("\(name).stop(agent \(system.systemActor(named: agentName ?? "kumo.test.\(name)", as: PluginAgent.self) != nil))")
    }
}

@Suite("Plugins", .timeLimit(.minutes(1)))
struct PluginTests {
    static func settings(_ name: String, _ plugins: [any ClusterPlugin]) -> ClusterSettings {
        var settings = ClusterSettings(name: name, secret: "plugin-secret")
        settings.logger.logLevel = .critical
        for plugin in plugins { settings.plugins.install(plugin) }
        return settings
    }

    @Test("start runs in the order of installation; willLeave (while up) and stop in reverse, on shutdown")
    func order() async throws {
        let log = PluginLog()
        let system = try await ClusterSystem(settings: Self.settings(
            "solo", [RecordingPlugin(name: "a", log: log), RecordingPlugin(name: "b", log: log)]))
        #expect(log.all == ["a.start", "b.start"])
        #expect(system.plugin(RecordingPlugin.self)?.name == "a")
        #expect(system.systemActor(named: "kumo.test.b", as: PluginAgent.self) != nil)
        await system.shutdown()
        await system.shutdown()  // once only
        #expect(log.all == ["a.start", "b.start", "b.willLeave(up)", "a.willLeave(up)", "b.stop(agent true)", "a.stop(agent true)"])
        #expect(system.systemActor(named: "kumo.test.b", as: PluginAgent.self) == nil)
    }

    @Test("across a graceful leave: the other nodes reach the plugin's system actor by name until it has left")
    func gracefulLeave() async throws {
        let log = PluginLog()
        let first = try await ClusterSystem(settings: Self.settings("first", []))
        var settings = Self.settings("second", [RecordingPlugin(name: "p", log: log)])
        settings.seeds = [first.node.address]
        settings.membership = TestCluster.testMembership()
        let second = try await ClusterSystem(settings: settings)
        try await first.waitForMembers(2)
        let agent = try PluginAgent.resolve(id: .named("kumo.test.p", on: second.node), using: first)
        #expect(try await agent.hello() == "hello from second")
        await second.leave()
        #expect(log.all == ["p.start", "p.willLeave(up)"])
        try await waitFor("the first node sees the second removed") {
            await first.members().first { $0.node == second.node }?.status == .removed
        }
        await second.shutdown()
        #expect(log.all == ["p.start", "p.willLeave(up)", "p.stop(agent true)"])
        await first.shutdown()
    }

    @Test("a taken system actor name is an error, and the node's start fails naming the plugin")
    func nameTaken() async throws {
        let log = PluginLog()
        let plugins: [any ClusterPlugin] = [
            RecordingPlugin(name: "first", log: log, agentName: "kumo.test.shared"),
            RecordingPlugin(name: "second", log: log, agentName: "kumo.test.shared"),
        ]
        do {
            let system = try await ClusterSystem(settings: Self.settings("clash", plugins))
            Issue.record("a node started with two plugins on one name")
            await system.shutdown()
        } catch let error as ClusterError {
            #expect(error.code == .pluginFailed)
            #expect(error.message.contains("plugin second"), "\(error)")
            #expect(error.message.contains("kumo.test.shared"), "\(error)")
        }
        #expect(log.all == ["first.start", "second.start", "first.willLeave(up)", "first.stop(agent true)"])
        // The membership agent's name is taken on every node, and kumo. names are reserved.
        let system = try await ClusterSystem(settings: Self.settings("plain", []))
        #expect(throws: ClusterError(.nameTaken, "")) {
            try system.hostSystemActor(named: "kumo.cluster") { PluginAgent(actorSystem: system) }
        }
        #expect(throws: ClusterError(.invalidConfiguration, "")) {
            try system.hostSystemActor(named: "jobs") { PluginAgent(actorSystem: system) }
        }
        await system.shutdown()
    }

    @Test("a plugin whose start throws stops the node's start with an error naming it")
    func failingStart() async throws {
        let log = PluginLog()
        let plugins: [any ClusterPlugin] = [
            RecordingPlugin(name: "good", log: log), RecordingPlugin(name: "broken", log: log, failing: true),
            RecordingPlugin(name: "never", log: log),
        ]
        await #expect(throws: ClusterError(.pluginFailed, "")) {
            _ = try await ClusterSystem(settings: Self.settings("failing", plugins))
        }
        do {
            _ = try await ClusterSystem(settings: Self.settings("failing", plugins))
        } catch let error as ClusterError {
            #expect(error.message.contains("plugin broken failed to start: the disk is full"), "\(error)")
        }
        #expect(!log.all.contains { $0.hasPrefix("never") })
        #expect(log.all.filter { $0.hasPrefix("good.stop") }.count == 2)
    }
}
